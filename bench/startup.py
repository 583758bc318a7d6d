"""Foundation benchmark: cold and warm start, /healthz and /readyz under 32 clients vs bare FastAPI.

    python -m bench.startup [--seconds 5] [--clients 32]

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path

from bench._load import REPO, bench_env, closed_loop, free_port, process, wait_for


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="studyhall-bench-")) / "home"
    env = bench_env(STUDYHALL_HOME=str(home))
    port = free_port()
    serve = ["-m", "studyhall.cli", "serve", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    figures: dict[str, object] = {"clients": args.clients, "seconds_per_run": args.seconds}

    with process(serve, env, home.parent):
        figures["cold_start_s"] = round(wait_for(f"{base}/readyz"), 2)
    with process(serve, env, home.parent):
        figures["warm_start_s"] = round(wait_for(f"{base}/readyz"), 2)
        figures["healthz"] = asyncio.run(
            closed_loop(f"{base}/healthz", clients=args.clients, seconds=args.seconds)
        )
        figures["readyz"] = asyncio.run(
            closed_loop(f"{base}/readyz", clients=args.clients, seconds=args.seconds)
        )

    bare_port = free_port()
    bare = [
        "-m",
        "uvicorn",
        "bench.bare_app:app",
        "--port",
        str(bare_port),
        "--log-level",
        "warning",
    ]
    with process(bare, bench_env(PYTHONPATH=str(REPO)), REPO):
        wait_for(f"http://127.0.0.1:{bare_port}/healthz")
        figures["bare_fastapi_healthz"] = asyncio.run(
            closed_loop(
                f"http://127.0.0.1:{bare_port}/healthz", clients=args.clients, seconds=args.seconds
            )
        )
    healthz, bare_figures = figures["healthz"], figures["bare_fastapi_healthz"]
    assert isinstance(healthz, dict) and isinstance(bare_figures, dict)
    figures["healthz_rps_ratio_vs_bare"] = round(healthz["rps"] / bare_figures["rps"], 3)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
