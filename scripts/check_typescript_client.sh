#!/usr/bin/env bash
# Generate the TypeScript client from the OpenAPI document with @hey-api/openapi-ts and
# type-check it, with a small program that uses it, under `tsc --strict` (about a minute).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$repo/.venv/bin/python}"
cd "$repo/clients/typescript"
PYTHONPATH="$repo/src${PYTHONPATH:+:$PYTHONPATH}" "$python" "$repo/scripts/openapi_document.py" > openapi.json
npm ci --no-audit --no-fund --loglevel=error
rm -rf src/client
npx openapi-ts --input openapi.json --output src/client
npx tsc -p .
echo "TypeScript client: generated and type-checked"
