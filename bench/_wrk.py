"""Load that measures the server, not the client: ``wrk`` (a C load generator, Debian package
``wrk``) drives a real ``studyhall serve`` in its own processes, and the same SQL goes through
psycopg from a multi-process driver as the database baseline.

Every figure carries the CPU its generator used over the run (``client_cpu_pct``, 100 = one
core busy): a generator near 100 % would be the bottleneck, and the figure its ceiling. The
server's and PostgreSQL's CPU are printed beside it too.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import psycopg

from bench._identity import is_identity, resign
from bench._load import REPO, bench_env, free_port, percentile, wait_for

LUA = Path(__file__).resolve().parent / "wrk" / "requests.lua"
BARE_APP = "bench.bare_app:app"


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


@dataclass(frozen=True)
class Request:
    """One line of the request file: a method, a path, a bearer token and a JSON body."""

    method: str
    path: str
    token: str = ""
    body: str = ""

    def line(self) -> str:
        return f"{self.method}\t{self.path}\t{self.token}\t{self.body}"


def wrk_installed() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    return found


def _tree_cpu(process: psutil.Process) -> dict[int, float]:
    """User + system CPU seconds so far of a process and each of its descendants, by pid."""
    seen: dict[int, float] = {}
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return seen
    for member in members:
        try:
            times = member.cpu_times()
        except psutil.NoSuchProcess:
            continue
        seen[member.pid] = times.user + times.system
    return seen


class CpuMeter:
    """CPU used by named process trees over a run, sampled every 0.2 s so that processes which
    come and go (PostgreSQL backends of a driver's connections) are counted while they live."""

    def __init__(self, trees: dict[str, int]) -> None:
        self.trees = {name: psutil.Process(pid) for name, pid in trees.items()}
        self.first: dict[str, dict[int, float]] = {}
        self.last: dict[str, dict[int, float]] = {}
        self.wall = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _take(self) -> None:
        for name, process in self.trees.items():
            self.last.setdefault(name, {}).update(_tree_cpu(process))

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            self._take()

    def start(self) -> None:
        for name, process in self.trees.items():
            self.first[name] = _tree_cpu(process)
        self.wall = time.perf_counter()
        self._thread.start()

    def stop(self) -> dict[str, float]:
        """CPU seconds each tree used since ``start`` (a process new since then from zero)."""
        self._stop.set()
        self._thread.join()
        self._take()
        self.wall = time.perf_counter() - self.wall
        return {
            name: sum(cpu - self.first[name].get(pid, 0.0) for pid, cpu in self.last[name].items())
            for name in self.trees
        }

    def figures(self, completed: int) -> dict[str, float]:
        used = self.stop()
        out: dict[str, float] = {}
        for name, seconds in used.items():
            out[f"{name}_cpu_pct"] = round(100 * seconds / self.wall, 1)
            if completed:
                out[f"{name}_cpu_ms_per_request"] = round(1000 * seconds / completed, 3)
        return out


def postgres_pids(url: str) -> list[int]:
    """The postmaster of the cluster behind ``url`` (its backends are its children)."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
    try:
        return [psutil.Process(int(row[0])).ppid()] if row else []
    except psutil.NoSuchProcess:
        return []


def run_wrk(
    base_url: str,
    requests: Sequence[Request],
    *,
    connections: int,
    seconds: float,
    once: bool = False,
    watch: dict[str, int] | None = None,
) -> dict[str, Any]:
    """``wrk`` with ``connections`` connections (one thread) for ``seconds``; requests from
    ``requests`` in turn (each once when ``once``). Returns its JSON plus requests/s, the
    generator's CPU (from its own rusage) and the CPU of the ``watch`` process trees (by name)."""
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as listing:
        listing.write("\n".join(r.line() for r in requests) + "\n")
    out = tempfile.TemporaryFile()  # noqa: SIM115 (closed below, after wrk wrote to it)
    env = os.environ | {"BENCH_REQUESTS": listing.name, "BENCH_ONCE": "1" if once else "0"}
    meter = CpuMeter(watch or {})
    command = [
        wrk_installed(),
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "30s",
        "-s",
        str(LUA),
        base_url,
    ]
    load_before = load_average()
    meter.start()
    began = time.perf_counter()
    proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - began
    os.unlink(listing.name)
    out.seek(0)
    text = out.read().decode()
    out.close()
    line = next((x for x in text.splitlines() if x.startswith("{")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {text}")
    result: dict[str, Any] = json.loads(line)
    duration = result.pop("duration_us") / 1e6
    result["rps"] = round(result["requests"] / duration, 1)
    result["ok_rps"] = round(result["ok"] / duration, 1)
    result["client_cpu_pct"] = round(100 * (usage.ru_utime + usage.ru_stime) / wall, 1)
    result |= meter.figures(result["requests"])
    result["load_average"] = [load_before, load_average()]
    return result


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen[bytes]


@contextmanager
def serve(env_extra: dict[str, str], *, workers: int = 1, bare: bool = False) -> Iterator[Server]:
    """``studyhall serve --workers N`` (or the bare FastAPI app under uvicorn) on a free port."""
    port = free_port()
    if bare:
        args = ["-m", "uvicorn", BARE_APP, "--port", str(port), "--no-access-log"]
        args += ["--log-level", "warning"]
    else:
        args = ["-m", "studyhall.cli", "serve", "--port", str(port), "--workers", str(workers)]
    env = bench_env(**env_extra)
    proc = subprocess.Popen(
        [sys.executable, *args],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/healthz")
        settle(proc.pid, workers)
        yield Server(base, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def settle(pid: int, workers: int, timeout: float = 90) -> None:
    """Wait until every worker process has started and the tree is idle (imports done): the
    first worker answering /healthz says nothing of the others."""
    process = psutil.Process(pid)
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        before = sum(_tree_cpu(process).values())
        time.sleep(0.5)
        busy = sum(_tree_cpu(process).values()) - before
        started = workers == 1 or len(process.children()) >= workers
        if started and busy < 0.05:
            return


# The SQL baseline: the statements a route issues, sent through psycopg by ``processes``
# processes, each an asyncio loop over its share of ``connections`` connections, closed loop.
Statement = tuple[str, dict[str, Any]]
Transaction = list[Statement]


def _sql_worker(
    url: str,
    work: list[Transaction],
    run: tuple[int, float, bool, bytes | None],
    out: Any,
) -> None:
    started_cpu = time.process_time()
    try:
        latencies, rows, began = asyncio.run(_sql_loop(url, work, *run))
    except Exception as exc:  # the parent waits on the pipe: it must hear of a failure
        out.send({"error": repr(exc)})
        raise
    out.send(
        {
            "latencies": latencies,
            "done": len(latencies),
            "rows": rows,
            "wall": began,
            "cpu_s": time.process_time() - started_cpu,
        }
    )


async def _sql_loop(
    url: str,
    work: list[Transaction],
    connections: int,
    seconds: float,
    once: bool,
    key: bytes | None,
) -> tuple[list[float], int, float]:
    """Latencies, rows touched (returned or written, identity statements aside) and wall time.
    With ``key``, each transaction's identity is signed afresh as it starts (a signature lapses
    after a few minutes; a run may be longer)."""
    conns = [await psycopg.AsyncConnection.connect(url) for _ in range(connections)]
    latencies: list[float] = []
    cursor = 0
    rows = 0
    deadline = 0.0

    def next_item() -> Transaction | None:
        nonlocal cursor
        if once and cursor >= len(work):
            return None
        item = work[cursor % len(work)]
        cursor += 1
        return item

    async def client(conn: psycopg.AsyncConnection[Any]) -> None:
        nonlocal rows
        while time.perf_counter() < deadline and (item := next_item()) is not None:
            began = time.perf_counter()
            statements = item if key is None else resign(item, key)
            async with conn.transaction():
                for statement, params in statements:
                    cursor = await conn.execute(statement, params, prepare=True)
                    if cursor.description is not None:
                        await cursor.fetchall()
                    if not is_identity(statement):
                        rows += max(cursor.rowcount, 0)
            latencies.append(time.perf_counter() - began)

    deadline = time.perf_counter() + seconds
    began = time.perf_counter()
    await asyncio.gather(*(client(c) for c in conns))
    wall = time.perf_counter() - began
    for conn in conns:
        await conn.close()
    return latencies, rows, wall


def run_sql(
    url: str,
    work: Sequence[Transaction],
    *,
    connections: int,
    seconds: float,
    processes: int = 2,
    once: bool = False,
    watch: dict[str, int] | None = None,
    key: bytes | None = None,
) -> dict[str, Any]:
    """Transactions per second of ``work`` sent directly, split over ``processes`` drivers.
    ``key`` re-signs each transaction's identity statements (``bench._identity.resign``); a run
    that touches no row at all fails, since row level security refusing the baseline's identity
    would otherwise look like a fast baseline."""
    context = multiprocessing.get_context("fork")
    # Few items (one listing): every process repeats all of them.
    shares = [
        list(work[i::processes]) if len(work) >= processes else list(work) for i in range(processes)
    ]
    per_process = [
        connections // processes + (i < connections % processes) for i in range(processes)
    ]
    pipes, workers = [], []
    meter = CpuMeter(watch or {})
    load_before = load_average()
    meter.start()
    began = time.perf_counter()
    for share, conns in zip(shares, per_process, strict=True):
        receive, send = context.Pipe(duplex=False)
        worker = context.Process(
            target=_sql_worker, args=(url, share, (conns, seconds, once, key), send)
        )
        worker.start()
        pipes.append(receive)
        workers.append(worker)
    results = [pipe.recv() for pipe in pipes]
    for worker in workers:
        worker.join()
    if failed := [r["error"] for r in results if "error" in r]:
        raise RuntimeError(f"the SQL driver failed: {failed}")
    wall = time.perf_counter() - began
    latencies = [x for r in results for x in r["latencies"]]
    done = sum(r["done"] for r in results)
    rows = sum(r["rows"] for r in results)
    if done and not rows:
        raise RuntimeError("the SQL baseline touched no rows: was its identity refused?")
    longest = max(r["wall"] for r in results)
    figures: dict[str, Any] = {
        "transactions": done,
        "rows_per_transaction": round(rows / done, 2) if done else None,
        "rps": round(done / longest, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 3) if latencies else None,
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 3) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 3) if latencies else None,
        "client_cpu_pct": round(100 * sum(r["cpu_s"] for r in results) / wall, 1),
        "client_processes": processes,
    }
    figures |= meter.figures(done)
    figures["load_average"] = [load_before, load_average()]
    return figures


def ratio(api: dict[str, Any], baseline: dict[str, Any], key: str = "rps") -> float:
    return round(api[key] / baseline[key], 3) if baseline[key] else 0.0
