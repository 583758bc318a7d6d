"""Keeps the embedded PostgreSQL of ``studyhall serve`` running: a thread that notices its server
is gone (killed, crashed) and starts it again, so the API recovers without a restart of its own.
Requests meanwhile get 503 with ``Retry-After`` (``studyhall.db.availability``)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from studyhall.db import embedded

log = logging.getLogger(__name__)


class EmbeddedSupervisor:
    def __init__(self, home: Path, interval_s: float = 1.0) -> None:
        self.home = home
        self.interval_s = interval_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._watch, name="embedded-postgres-supervisor", daemon=True
        )

    def __enter__(self) -> EmbeddedSupervisor:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stopping.set()
        self._thread.join(timeout=30)

    def _watch(self) -> None:
        while not self._stopping.wait(self.interval_s):
            self.check_once()

    def check_once(self) -> None:
        try:
            if embedded.ensure_running(self.home):
                log.warning("the embedded PostgreSQL had stopped; it was started again")
        except Exception:
            # Old server processes may still hold its shared memory for a moment: next tick.
            log.exception("the embedded PostgreSQL is down and could not be started yet")
