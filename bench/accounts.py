"""Accounts benchmark: argon2 hash time, sign-ins/s, authenticated GET /me vs /healthz, and
GET /me with the session check (the token's sign-in still live) against the user row alone.

Starts its own embedded PostgreSQL and a real uvicorn server process on a loopback port,
creates ``--users`` accounts through the API, then measures. Prints one JSON line.

    python -m bench.accounts [--users 200] [--clients 32] [--requests 4000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from bench._identity import env_key
from studyhall.accounts.service import security
from studyhall.db import embedded, migrate

PASSWORD = "bench passphrase that is long"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _argon2_ms(samples: int) -> dict[str, float]:
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        security.hash_password(PASSWORD)
        times.append((time.perf_counter() - started) * 1000)
    return {
        "argon2_hash_ms_p50": round(statistics.median(times), 2),
        "argon2_hash_ms_min": round(min(times), 2),
    }


async def _wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base) as http:
        for _ in range(300):
            if process.poll() is not None:
                raise RuntimeError("the server exited during startup")
            try:
                if (await http.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the server did not become ready")


async def _load(
    clients: int, total: int, call: Callable[[int], Awaitable[httpx.Response]]
) -> dict[str, float]:
    """``total`` calls spread over ``clients`` concurrent workers; throughput and latencies."""
    latencies: list[float] = []
    failures = 0
    counter = iter(range(total))

    async def worker() -> None:
        nonlocal failures
        for i in counter:
            started = time.perf_counter()
            response = await call(i)
            latencies.append((time.perf_counter() - started) * 1000)
            failures += response.status_code >= 400

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 2)

    if failures:
        raise RuntimeError(f"{failures} of {total} requests failed")
    return {
        "rps": round(total / elapsed, 1),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
    }


SECRET = "bench-secret-key-that-is-long-enough-0123456789"


async def _token_without_session(
    http: httpx.AsyncClient, headers: dict[str, str]
) -> dict[str, str]:
    me = (await http.get("/api/v1/me", headers=headers)).json()
    token = security.issue_access_token(uuid.UUID(me["id"]), me["role"], SECRET)
    return {"Authorization": f"Bearer {token}"}


def _best(runs: list[dict[str, float]]) -> dict[str, float]:
    return max(runs, key=lambda run: run["rps"])


async def _measure(base: str, args: argparse.Namespace) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as http:
        emails = [f"bench{i}@example.org" for i in range(args.users)]

        async def sign_up(i: int) -> httpx.Response:
            return await http.post(
                "/api/v1/auth/sign-up",
                json={"email": emails[i], "password": PASSWORD, "name": f"Bench {i}"},
            )

        signup = await _load(8, args.users, sign_up)

        async def sign_in(i: int) -> httpx.Response:
            return await http.post(
                "/api/v1/auth/sign-in", json={"email": emails[i % args.users], "password": PASSWORD}
            )

        signin = await _load(args.clients, args.sign_ins, sign_in)
        tokens = []
        for i in range(args.clients):
            response = await sign_in(i)
            tokens.append({"Authorization": f"Bearer {response.json()['access_token']}"})

        # The same users' tokens without a session id: authenticated by the user row alone, as
        # before sign-out could end a single token. The API mints only tokens with one.
        unended = [await _token_without_session(http, headers) for headers in tokens]

        async def me(i: int) -> httpx.Response:
            return await http.get("/api/v1/me", headers=tokens[i % len(tokens)])

        async def me_user_row_only(i: int) -> httpx.Response:
            return await http.get("/api/v1/me", headers=unended[i % len(unended)])

        async def healthz(i: int) -> httpx.Response:
            return await http.get("/healthz")

        await _load(args.clients, 200, me)  # warm the pool and caches
        # Alternated, so drift on a shared machine falls on both sides alike.
        checked, unchecked = [], []
        for _ in range(2):
            unchecked.append(await _load(args.clients, args.requests, me_user_row_only))
            checked.append(await _load(args.clients, args.requests, me))
        me_stats = _best(checked)
        user_only_stats = _best(unchecked)
        health_stats = await _load(args.clients, args.requests, healthz)
    return {
        "sign_up_per_s": signup["rps"],
        "sign_in_per_s": signin["rps"],
        "sign_in_p99_ms": signin["p99_ms"],
        "me_rps": me_stats["rps"],
        "me_p50_ms": me_stats["p50_ms"],
        "me_p99_ms": me_stats["p99_ms"],
        # The cost of ending sessions: the same GET /me checked by the user row alone.
        "me_user_row_only_rps": user_only_stats["rps"],
        "me_user_row_only_p50_ms": user_only_stats["p50_ms"],
        "me_user_row_only_p99_ms": user_only_stats["p99_ms"],
        "healthz_rps": health_stats["rps"],
        "healthz_p99_ms": health_stats["p99_ms"],
        "me_vs_healthz_rps_ratio": round(me_stats["rps"] / health_stats["rps"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--sign-ins", type=int, default=400)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=4000)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="studyhall-bench-"))
    cluster = embedded.start(home, db_name="bench", app_role="studyhall_app", cleanup_mode="delete")
    port = _free_port()
    env = os.environ | {
        "DATABASE_URL": cluster.owner_url,
        "STUDYHALL_APP_DATABASE_URL": cluster.app_url,
        "STUDYHALL_IN_PROCESS_WORKER": "false",
        "STUDYHALL_LOG_LEVEL": "WARNING",
        "STUDYHALL_SIGNIN_LIMIT_PER_IP": "1000000",
        "STUDYHALL_DB_POOL_SIZE": "10",
        "STUDYHALL_SECRET_KEY": SECRET,
        "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"),
    }
    # The key the server signs identities with, or row level security answers it nothing.
    migrate.upgrade(cluster.owner_url, "studyhall_app", rls_key=env_key(env))
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "studyhall.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
            # Idle client connections must outlive the pauses between phases.
            "--timeout-keep-alive",
            "300",
        ],
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        asyncio.run(_wait_ready(base, server))
        figures = _argon2_ms(20) | asyncio.run(_measure(base, args))
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        json.dumps(
            {
                "bench": "accounts",
                "users": args.users,
                "clients": args.clients,
                "requests": args.requests,
                "server_processes": 1,
            }
            | figures
        )
    )


if __name__ == "__main__":
    main()
