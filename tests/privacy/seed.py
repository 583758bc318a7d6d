"""A person with data in every domain: signed up and uploading through the API, the rest of
their life arranged behind the API's back (as the owner), each free-text field carrying a marker
string so that a search can find what erasure missed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
from sqlalchemy import text

from studyhall.db.engine import Database
from tests.conftest import run_jobs

API = "/api/v1"
PASSWORD = "correct horse battery staple 9"


@dataclass
class Person:
    id: uuid.UUID
    email: str
    name: str
    marker: str
    headers: dict[str, str]
    material_id: uuid.UUID
    file_bytes: bytes


async def sign_up(client: httpx.AsyncClient, email: str, name: str, role: str) -> uuid.UUID:
    response = await client.post(
        f"{API}/auth/sign-up",
        json={"email": email, "password": PASSWORD, "name": name, "role": role},
    )
    assert response.status_code == 201, response.text
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    return uuid.UUID((await client.get(f"{API}/me", headers=headers)).json()["id"])


async def _token(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await client.post(
        f"{API}/auth/sign-in", json={"email": email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


# One statement per row; :s is the person, :o another student, :t another tutor, :m the marker.
ROWS = """
UPDATE users SET phone = '+4512345678', first_name = :first, last_name = :last WHERE id = :s;
INSERT INTO tutor_profiles (user_id, bio) VALUES (:s, 'Bio ' || :m) ON CONFLICT DO NOTHING;
INSERT INTO student_profiles (user_id, school) VALUES (:s, 'School ' || :m) ON CONFLICT (user_id) DO UPDATE SET school = EXCLUDED.school;
INSERT INTO guardian_consents (user_id, guardian_email, consent_type, consent_given, legal_text_hash) VALUES (:s, 'guardian-' || :m || '@example.org', 'parental', true, repeat('a', 64));
INSERT INTO oauth_accounts (user_id, provider, provider_account_id, access_token_encrypted, encryption_key_id) VALUES (:s, 'google', 'acct-' || :m, '\\x00'::bytea, 'k1');
INSERT INTO calendar_feeds (user_id, token_hash) VALUES (:s, decode(md5(:m), 'hex'));
INSERT INTO tutor_schedule_settings (tutor_id) VALUES (:s);
INSERT INTO offerings (id, tutor_id, title, description, short_description, duration_minutes, price_cents, currency) VALUES (:so, :s, 'Lessons ' || :m, 'About ' || :m, 'Short ' || :m, 60, 1000, 'EUR'), (:to, :t, 'Their lessons', 'About', 'Short', 60, 1000, 'EUR');
INSERT INTO availability_rules (tutor_id, offering_id, timezone, start_date, start_time, end_time, rrule) VALUES (:s, :so, 'UTC', current_date, '09:00', '17:00', 'FREQ=WEEKLY;BYDAY=MO');
INSERT INTO slots (id, tutor_id, offering_id, start_at, end_at, capacity) VALUES (:ss, :s, :so, now() + interval '2 days', now() + interval '2 days 1 hour', 1), (:ts, :t, :to, now() + interval '3 days', now() + interval '3 days 1 hour', 1);
INSERT INTO time_off_blocks (tutor_id, start_at, end_at, reason) VALUES (:s, now() + interval '9 days', now() + interval '10 days', 'Away ' || :m);
INSERT INTO bookings (student_id, tutor_id, offering_id, slot_id, start_at, end_at, blocked_range, status, price_cents, currency, student_notes, join_link) SELECT :s, :t, :to, :ts, start_at, end_at, tstzrange(start_at, end_at), 'confirmed', 1000, 'EUR', 'Notes ' || :m, 'https://meet.example/' || :m FROM slots WHERE id = :ts;
INSERT INTO bookings (student_id, tutor_id, offering_id, slot_id, start_at, end_at, blocked_range, status, price_cents, currency, tutor_notes, cancellation_reason) SELECT :o, :s, :so, :ss, start_at, end_at, tstzrange(start_at, end_at), 'confirmed', 1000, 'EUR', 'Tutor notes ' || :m, 'Reason ' || :m FROM slots WHERE id = :ss;
INSERT INTO payments (id, user_id, type, purpose, purpose_id, provider, amount_cents, currency, status, description, failure_message) VALUES (:pay, :s, 'product', 'course', gen_random_uuid(), 'manual', 1000, 'EUR', 'succeeded', 'Payment ' || :m, 'Failure ' || :m);
INSERT INTO refunds (payment_id, amount_cents, currency, reason, provider, requested_by_user_id, failure_message) VALUES (:pay, 100, 'EUR', 'course_refund', 'manual', :s, 'Refund ' || :m);
INSERT INTO credit_ledger (user_id, seq, delta, reason, balance_after, actor_user_id, note) VALUES (:s, 1, 5, 'manual', 5, :s, 'Credits ' || :m);
INSERT INTO payment_methods (user_id, provider, token_encrypted, encryption_key_id, token_sha256, masked_pan, brand) VALUES (:s, 'paymob', '\\x02'::bytea, 'k1', md5(:m) || md5(:m), '4111********1111', 'visa');
INSERT INTO payment_customers (user_id, provider, provider_customer_id) VALUES (:s, 'stripe', 'cus_' || :m);
INSERT INTO plans (id, key, name, billing_cycle, price_cents, currency) VALUES (:plan, 'plan-' || :plan, 'Plan', 'monthly', 500, 'EUR');
INSERT INTO subscriptions (user_id, plan_id, provider, status, price_cents, currency) VALUES (:s, :plan, 'manual', 'active', 500, 'EUR');
INSERT INTO products (id, name, description, image_url, price_cents, currency, status) VALUES (:prod, 'Product', 'Desc', 'https://img.example/p.png', 1000, 'EUR', 'public');
INSERT INTO purchases (id, user_id, product_id, payment_id, status, price_paid_cents, currency, product_details, paid_at) VALUES (:pur, :s, :prod, :pay, 'paid', 1000, 'EUR', '{"name": "Product"}', now());
INSERT INTO courses (id, title, description, author_id) VALUES (:course, 'Course', 'A course', :s);
INSERT INTO course_sections (id, course_id, name, position) VALUES (:sec, :course, 'Section', 1);
INSERT INTO lessons (id, section_id, title, position) VALUES (:lesson, :sec, 'Lesson', 1);
INSERT INTO course_access (user_id, course_id, source, purchase_id) VALUES (:s, :course, 'purchase', :pur);
INSERT INTO lesson_completions (user_id, lesson_id) VALUES (:s, :lesson);
INSERT INTO chat_threads (id, user_id, title) VALUES (:thread, :s, 'Thread ' || :m);
INSERT INTO chat_messages (thread_id, user_id, role, content) VALUES (:thread, :s, 'user', 'Question ' || :m);
INSERT INTO ai_artifacts (id, user_id, type, status, payload) VALUES (:art, :s, 'flashcards', 'completed', jsonb_build_object('text', 'Artifact ' || :m));
INSERT INTO flashcards (id, user_id, artifact_id, front, back, fsrs_state, due_at) VALUES (:card, :s, :art, 'Front ' || :m, 'Back', '{}', now());
INSERT INTO flashcard_reviews (flashcard_id, user_id, rating, reviewed_at, review_log) VALUES (:card, :s, 3, now(), '{}');
INSERT INTO quizzes (id, user_id, title) VALUES (:quiz, :s, 'Quiz ' || :m);
INSERT INTO quiz_questions (quiz_id, position, question_text, options, correct_answer) VALUES (:quiz, 1, 'Question ' || :m, '["a"]', 'a');
INSERT INTO quiz_attempts (user_id, quiz_id, question_count, answers) VALUES (:s, :quiz, 1, jsonb_build_object('1', 'Answer ' || :m));
INSERT INTO study_events (user_id, kind, reference_id, payload) VALUES (:s, 'quiz_completed', :quiz, '{}');
INSERT INTO ai_usage (user_id, feature, status, metadata) VALUES (:s, 'chat', 'succeeded', jsonb_build_object('note', CAST(:m AS text)));
INSERT INTO ai_quota_counters (user_id, period, period_start, limit_tokens) VALUES (:s, 'day', current_date, 1000);
INSERT INTO ai_quota_reservations (user_id, feature, tokens_reserved, day_start, month_start, expires_at) VALUES (:s, 'chat', 10, current_date, date_trunc('month', current_date), now() + interval '1 hour');
INSERT INTO learning_profiles (user_id, subject, concept) VALUES (:s, 'Maths', 'Concept ' || :m);
INSERT INTO subjects (id, name) VALUES (:subj, 'Subject ' || :subj);
INSERT INTO topics (id, subject_id, name) VALUES (:topic, :subj, 'Topic');
INSERT INTO topic_progress (user_id, topic_id) VALUES (:s, :topic);
INSERT INTO xp_logs (user_id, source_type, reference_id, reason, xp_amount, local_date) VALUES (:s, 'quiz', :quiz, 'quiz_passed', 10, current_date);
INSERT INTO user_streaks (user_id, current_streak, longest_streak) VALUES (:s, 3, 3);
INSERT INTO friends (requester_id, addressee_id, status) VALUES (:s, :o, 'accepted');
INSERT INTO leaderboard_cache (period_type, period_start, user_id, xp_total) VALUES ('weekly', current_date, :s, 10);
INSERT INTO study_sessions (user_id, local_date) VALUES (:s, current_date);
INSERT INTO achievements (id, code, title, criteria_type, criteria_value) VALUES (:ach, 'ach-' || :ach, 'Ach', 'total_xp', 1);
INSERT INTO user_achievements (user_id, achievement_id) VALUES (:s, :ach);
INSERT INTO user_recommendations (user_id, recommendation_type, reason_code, message, priority_score, expires_at) VALUES (:s, 'cards_due', 'due', 'Review ' || :m, 1, now() + interval '1 day');
INSERT INTO notifications (user_id, type, channel, payload) VALUES (:s, 'system_update', 'inapp', jsonb_build_object('title', 'Hello ' || :m));
INSERT INTO notification_preferences (user_id, type, channel, enabled) VALUES (:s, 'system_update', 'email', false);
INSERT INTO notification_settings (user_id, quiet_hours_start, quiet_hours_end) VALUES (:s, '22:00', '07:00');
INSERT INTO idempotency_keys (user_id, scope, key, request_hash, response_status, response_body) VALUES (:s, 'test', 'key-' || :m, repeat('c', 64), 200, jsonb_build_object('echo', CAST(:m AS text)));
INSERT INTO audit_log (actor_user_id, action, entity, entity_id, diff) VALUES (:s, 'profile.update', 'user', :s, jsonb_build_object('bio', CAST(:m AS text)));
"""


async def seed_everywhere(client: httpx.AsyncClient, owner_db: Database, tag: str) -> Person:
    marker = f"zqx{tag}marker"
    email = f"{tag}.person@example.org"
    name = f"Quintessa {tag.capitalize()}"
    person_id = await sign_up(client, email, name, "student")
    other = await sign_up(client, f"{tag}.other@example.org", "Other Student", "student")
    tutor = await sign_up(client, f"{tag}.tutor@example.org", "Other Tutor", "tutor")
    headers = await _token(client, email)
    file_bytes = f"Photosynthesis notes.\n\nPlants make sugar. {marker}\n".encode()
    uploaded = await client.post(
        f"{API}/materials",
        headers=headers,
        files={"file": (f"notes-{marker}.txt", file_bytes, "text/plain")},
        data={"origin": "notes"},
    )
    assert uploaded.status_code == 201, uploaded.text
    material_id = uuid.UUID(uploaded.json()["id"])
    ids = {
        key: uuid.uuid4()
        for key in (
            "so to ss ts pay plan prod pur course sec lesson thread art card quiz subj "
            "topic ach"
        ).split()
    }
    params = {**ids, "s": person_id, "o": other, "t": tutor, "m": marker}
    params |= {"first": name.split()[0], "last": name.split()[1]}
    async with owner_db.transaction() as session:
        for statement in filter(None, (line.strip() for line in ROWS.strip().splitlines())):
            used = {key: value for key, value in params.items() if f":{key}" in statement}
            await session.execute(text(statement.rstrip(";")), used)
    await run_jobs()  # processes the upload (chunks) and delivers the sign-up e-mails
    return Person(person_id, email, name, marker, headers, material_id, file_bytes)
