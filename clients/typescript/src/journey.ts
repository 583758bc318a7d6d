// Uses the generated client the way an application would; `tsc --strict` fails when the
// document's schemas no longer fit this code (a breaking change for TypeScript clients).
import { createClient } from './client/client';
import type { BookingCreate, Problem, SearchRequest, SignIn, SignUp, TokenPair } from './client/types.gen';
import * as sdk from './client/sdk.gen';

const client = createClient({ baseUrl: 'http://127.0.0.1:8000' });

const signUp: SignUp = { email: 'ada@example.org', password: 'correct horse battery', name: 'Ada' };
const signIn: SignIn = { email: 'ada@example.org', password: 'correct horse battery' };
const booking: BookingCreate = { slot_id: '7d9f3c2e-8b41-4f7a-9a39-1c2b5e6d7f80', pay_with: 'credits' };
const search: SearchRequest = { query: 'photosynthesis', k: 3 };

export async function journey(): Promise<string | undefined> {
  const created = await client.post<{ 201: TokenPair }, { 422: Problem }, false>({
    url: '/api/v1/auth/sign-up',
    body: signUp,
  });
  const signedIn = await client.post<{ 200: TokenPair }, { 422: Problem }, false>({
    url: '/api/v1/auth/sign-in',
    body: signIn,
  });
  void [booking, search, created];
  return signedIn.data?.access_token;
}

// Every operation has a function in the SDK.
export const operations: number = Object.keys(sdk).length;
