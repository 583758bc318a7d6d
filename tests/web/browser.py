"""A real browser against a real server: Debian's chromium driven by Playwright, and `uvicorn`
serving the app in its own process on a free port, as `studyhall serve` would.

One server and one browser serve the whole test session; each test opens its own context, so
cookies never leak between journeys.
"""

from __future__ import annotations

import asyncio
import email
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import httpx
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, async_playwright

from tests.pg import PgServer, fresh_database

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("STUDYHALL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(os.environ.get("STUDYHALL_SCREENSHOTS", REPO / "tests" / "web" / "screenshots"))
LINK = re.compile(r"https?://[^\s<>\"']+")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class WebServer:
    base_url: str
    outbox: Path
    # The database owner's URL, for a test that moves time along (a lesson that has ended).
    owner_url: str = ""

    def mails_to(self, address: str) -> list[Message]:
        found = []
        for path in sorted(self.outbox.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes())
            if message["To"] and address.lower() in message["To"].lower():
                found.append(message)
        return found

    async def wait_for_mail(
        self, address: str, subject_part: str, timeout_s: float = 20
    ) -> Message:
        """The in-process job worker delivers mail a moment after the request commits."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for message in reversed(self.mails_to(address)):
                if subject_part.lower() in str(message["Subject"]).lower():
                    return message
            await asyncio.sleep(0.2)
        raise AssertionError(f"no mail to {address} about {subject_part!r} within {timeout_s}s")


def body_text(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError("the mail has no text part")


def links_in(message: Message) -> list[str]:
    return LINK.findall(body_text(message))


def serve(
    pg_server: PgServer,
    home: Path,
    more_env: Callable[[str], dict[str, str]] | None = None,
) -> Iterator[WebServer]:
    """``more_env`` gives further settings, knowing the server's base URL (for callbacks)."""
    name, urls = fresh_database(pg_server)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    outbox = home / "outbox"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "STUDYHALL_DATABASE_URL": urls.owner,
        "STUDYHALL_APP_DATABASE_URL": urls.app,
        "STUDYHALL_HOME": str(home),
        "STUDYHALL_MAIL_OUTBOX_DIR": str(outbox),
        "STUDYHALL_BASE_URL": base_url,
        "STUDYHALL_ENVIRONMENT": "development",
        "STUDYHALL_IN_PROCESS_WORKER": "true",
        "STUDYHALL_BACKUP_DAILY": "false",
        "STUDYHALL_LOG_JSON": "false",
        "STUDYHALL_LOG_LEVEL": "WARNING",
        **(more_env(base_url) if more_env else {}),
    }
    env.pop("DATABASE_URL", None)
    # The demo's verified tutors, with offerings and open slots, are the ones students book.
    subprocess.run(
        [sys.executable, "-c", "from studyhall.cli import main; main()", "demo"],
        cwd=home,
        env=env,
        check=True,
        capture_output=True,
    )
    log = (home / "server.log").open("wb")
    process = subprocess.Popen(
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
        ],
        cwd=home,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_until_up(base_url, process, home / "server.log")
        yield WebServer(base_url=base_url, outbox=outbox, owner_url=urls.owner)
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()
        pg_server.drop_database(name)


def _wait_until_up(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the server did not start:\n{log.read_text()[-4000:]}")


async def launch() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


_axe = Axe()


async def assert_accessible(page: Page, what: str) -> None:
    """axe-core on the page as it is: no serious or critical violation."""
    results = await _axe.run(page)
    bad = [
        f"{violation['id']} ({violation['impact']}): {violation['help']} — "
        + "; ".join(node["target"][0] for node in violation["nodes"][:3])
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{what}: " + "\n".join(bad)


async def assert_fits(page: Page, what: str) -> None:
    """Nothing wider than the viewport: no sideways scrolling on a phone."""
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{what} is {overflow}px wider than the screen"


async def screenshot(page: Page, name: str) -> None:
    # Playwright creates the folder.
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def check_page(page: Page, name: str) -> None:
    """What every journey page gets: a screenshot for reviewers and the accessibility check."""
    await screenshot(page, name)
    await assert_accessible(page, name)
