"""Study jobs: process an upload, generate an artifact, remove a deleted material's file.

Handlers take ids, re-read rows and are safe to run twice: a retried job finds the work done
or starts it over. Their work acts across users (``cross_users`` at the start of each of its
transactions, in ``service.processing`` and ``service.artifact_runs``). An unexpected error marks
the row ``failed`` instead of crashing the worker; nothing else in the queue is affected.
"""

from __future__ import annotations

import logging
import uuid

from studyhall.jobs.core import backoff, queue, runtime
from studyhall.study.providers.storage import get_storage
from studyhall.study.service import artifact_runs, processing

log = logging.getLogger(__name__)


@queue.task(name="studyhall.study.process_material", queue="study", retry=backoff(2))
async def process_material(material_id: str) -> str:
    rt = runtime()
    try:
        return await processing.process(rt.database, rt.settings, uuid.UUID(material_id))
    except Exception as exc:
        log.exception("material processing failed", extra={"material_id": material_id})
        await processing.fail_unexpected(rt.database, uuid.UUID(material_id), exc)
        return "failed"


@queue.task(name="studyhall.study.generate_artifact", queue="study", retry=backoff(2))
async def generate_artifact(artifact_id: str) -> str:
    rt = runtime()
    try:
        return await artifact_runs.run(rt.database, rt.settings, uuid.UUID(artifact_id))
    except Exception as exc:
        log.exception("artifact generation failed", extra={"artifact_id": artifact_id})
        await artifact_runs.fail_unexpected(rt.database, uuid.UUID(artifact_id), exc)
        return "failed"


@queue.task(name="studyhall.study.remove_stored_file", queue="study", retry=backoff(5))
async def remove_stored_file(key: str) -> None:
    """The file of a deleted material; removing a file that is already gone is fine."""
    await get_storage(runtime().settings).delete(key)
