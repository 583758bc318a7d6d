"""Study jobs: process an upload, generate an artifact.

Handlers take ids, re-read rows and are safe to run twice (rule 3). An unexpected error marks
the row ``failed`` instead of crashing the worker; nothing else in the queue is affected.
"""

from __future__ import annotations

import logging
import uuid

from studyhall.jobs.core import backoff, queue, runtime
from studyhall.study import artifacts, materials

log = logging.getLogger(__name__)


@queue.task(name="studyhall.study.process_material", queue="study", retry=backoff(2))
async def process_material(material_id: str) -> str:
    rt = runtime()
    try:
        return await materials.process(rt.database, rt.settings, uuid.UUID(material_id))
    except Exception as exc:
        log.exception("material processing failed", extra={"material_id": material_id})
        await materials.fail_unexpected(rt.database, uuid.UUID(material_id), exc)
        return "failed"


@queue.task(name="studyhall.study.generate_artifact", queue="study", retry=backoff(2))
async def generate_artifact(artifact_id: str) -> str:
    rt = runtime()
    try:
        return await artifacts.run(rt.database, rt.settings, uuid.UUID(artifact_id))
    except Exception as exc:
        log.exception("artifact generation failed", extra={"artifact_id": artifact_id})
        await artifacts.fail_unexpected(rt.database, uuid.UUID(artifact_id), exc)
        return "failed"
