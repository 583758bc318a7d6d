"""Web app benchmark: server-side render time of the main pages at the demo's data size, next
to a baseline of the same process (``/healthz`` and the API's JSON for the same data).

Starts its own embedded PostgreSQL, loads ``studyhall demo``, runs a real uvicorn server on a
loopback port, signs in through the sign-in form (a student and a tutor), then requests each
page ``--requests`` times one after another (a single client: the time is the server's render
plus loopback, not queueing). Target: p95 < 50 ms for every page. Prints one JSON line.

    python -m bench.web [--requests 200]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench._identity import env_key
from bench._load import REPO, free_port, percentile, wait_for
from studyhall.accounts.demo import DEMO_PASSWORD
from studyhall.db import embedded, migrate

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _env(cluster: embedded.EmbeddedDatabase, home: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO / "src"),
        "STUDYHALL_DATABASE_URL": cluster.owner_url,
        "STUDYHALL_APP_DATABASE_URL": cluster.app_url,
        "STUDYHALL_HOME": str(home),
        "STUDYHALL_MAIL_OUTBOX_DIR": str(home / "outbox"),
        # Cookies without Secure over plain http on loopback.
        "STUDYHALL_ENVIRONMENT": "development",
        "STUDYHALL_IN_PROCESS_WORKER": "false",
        "STUDYHALL_BACKUP_DAILY": "false",
        "STUDYHALL_LOG_LEVEL": "WARNING",
    }


def signed_in(base: str, email: str) -> httpx.Client:
    http = httpx.Client(base_url=base, timeout=30)
    form = http.get("/sign-in")
    token = CSRF.search(form.text)
    assert token, "the sign-in page has no CSRF token"
    answer = http.post(
        "/sign-in",
        data={"email": email, "password": DEMO_PASSWORD, "csrf_token": token.group(1)},
    )
    assert answer.status_code in (200, 303) and "sh_access" in http.cookies, "sign-in failed"
    return http


def timed(http: httpx.Client, path: str, requests: int) -> dict[str, float]:
    http.get(path)  # warm: templates compiled, catalogues loaded
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        response = http.get(path)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, f"{path}: {response.status_code}"
    return {
        "p50_ms": round(percentile(samples, 0.5) * 1000, 2),
        "p95_ms": round(percentile(samples, 0.95) * 1000, 2),
    }


def measure(base: str, requests: int) -> dict[str, dict[str, float]]:
    visitor = httpx.Client(base_url=base, timeout=30)
    student = signed_in(base, "sam@demo.example.com")
    tutor = signed_in(base, "tara@demo.example.com")
    tara = next(
        t for t in visitor.get("/api/v1/tutors").json()["items"] if t["name"] == "Tara Tutor"
    )
    runs = {
        "baseline /healthz": (visitor, "/healthz"),
        "baseline API /api/v1/tutors": (visitor, "/api/v1/tutors"),
        "baseline API /api/v1/offerings?tutor_id": (
            visitor,
            f"/api/v1/offerings?tutor_id={tara['user_id']}",
        ),
        "/": (visitor, "/"),
        "/tutors": (student, "/tutors"),
        "/tutors/{tara}": (student, f"/tutors/{tara['user_id']}"),
        "/home": (student, "/home"),
        "/bookings": (student, "/bookings"),
        "/notifications": (student, "/notifications"),
        "/teach": (tutor, "/teach"),
        "/teach/offerings": (tutor, "/teach/offerings"),
        "/teach/availability": (tutor, "/teach/availability"),
        "/teach/requests": (tutor, "/teach/requests"),
    }
    return {name: timed(http, path, requests) for name, (http, path) in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="studyhall-bench-web-"))
    cluster = embedded.start(home, db_name="bench", app_role="studyhall_app", cleanup_mode="delete")
    env = _env(cluster, home)
    # The key the server signs identities with, or row level security answers it nothing.
    migrate.upgrade(cluster.owner_url, "studyhall_app", rls_key=env_key(env))
    subprocess.run(
        [sys.executable, "-c", "from studyhall.cli import main; main()", "demo"],
        cwd=home,
        env=env,
        check=True,
        capture_output=True,
    )
    port = free_port()
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
        ],
        cwd=home,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/healthz")
        pages = measure(base, args.requests)
    finally:
        server.terminate()
        server.wait(timeout=30)
    worst = max(v["p95_ms"] for k, v in pages.items() if not k.startswith("baseline"))
    print(
        json.dumps(
            {
                "bench": "web",
                "requests_per_page": args.requests,
                "clients": 1,
                "target_p95_ms": 50,
                "worst_page_p95_ms": worst,
                "within_target": worst < 50,
                "pages": pages,
            }
        )
    )


if __name__ == "__main__":
    main()
