"""Search: hybrid retrieval over the materials the caller may read."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from studyhall.accounts.deps import CurrentUserDetached
from studyhall.db.deps import AppDatabase
from studyhall.study.routes.deps import AppSettings
from studyhall.study.schemas import SearchHit, SearchRequest
from studyhall.study.service import quota
from studyhall.study.service.quota import UsageCall
from studyhall.study.service.retrieval import embed_query, search

router = APIRouter()


@router.post("/search", response_model=list[SearchHit], summary="Search my materials")
async def materials_search(
    body: SearchRequest, settings: AppSettings, user: CurrentUserDetached, database: AppDatabase
) -> Any:
    """Hybrid search over the caller's processed materials and the course materials they may
    read, best first, at most ``k`` hits. The query is embedded before any transaction opens
    (it may call a model)."""
    calls: list[UsageCall] = []
    vector, model = await embed_query(settings, body.query, calls)
    async with database.transaction(user.id) as session:
        for call in calls:
            await quota.record_usage(
                session, user.id, "embedding", call.model, call.prompt_tokens, 0, call.status
            )
        hits = await search(
            session,
            user.id,
            body.query,
            k=body.k,
            material_ids=body.material_ids,
            query_vector=vector,
            embedding_model=model,
        )
    out = []
    for hit in hits:
        passage = hit.to_passage()
        out.append(
            SearchHit(
                chunk_id=hit.id,
                material_id=hit.material_id,
                file_name=hit.file_name,
                page=passage.page,
                slide=passage.slide,
                heading=hit.heading,
                text=hit.text,
                score=hit.score,
            )
        )
    return out
