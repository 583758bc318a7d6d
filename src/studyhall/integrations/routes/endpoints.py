"""HTTP for webhook endpoints (admins only): register, list, change, remove, rotate the secret."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Request, Response, status

from studyhall.accounts.deps import Admin
from studyhall.config import Settings
from studyhall.db.deps import Session
from studyhall.integrations.config import get_config
from studyhall.integrations.models import WebhookEndpoint
from studyhall.integrations.schemas import (
    WebhookEndpointCreate,
    WebhookEndpointPage,
    WebhookEndpointRead,
    WebhookEndpointSecret,
    WebhookEndpointUpdate,
)
from studyhall.integrations.service import endpoints
from studyhall.kit.paging import PageQuery

router = APIRouter()

BASE = "/admin/webhook-endpoints"


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _with_secret(endpoint: WebhookEndpoint, secret: str) -> WebhookEndpointSecret:
    read = WebhookEndpointRead.model_validate(endpoint)
    return WebhookEndpointSecret(**read.model_dump(), secret=secret)


def _key(endpoint: WebhookEndpoint) -> tuple[datetime, uuid.UUID]:
    return endpoint.created_at, endpoint.id


@router.post(
    BASE,
    status_code=status.HTTP_201_CREATED,
    summary="Register a webhook endpoint (its signing secret is shown only in this answer)",
)
async def webhook_endpoints_create(
    body: WebhookEndpointCreate, admin: Admin, session: Session, request: Request
) -> WebhookEndpointSecret:
    """Registers a URL that receives the chosen events as signed POSTs (Standard Webhooks).
    Outside production the URL may be http and local; in production it must be https to a
    public host."""
    endpoint, secret = await endpoints.create(
        session, _settings(request), admin.id, body.model_dump()
    )
    return _with_secret(endpoint, secret)


@router.get(BASE, summary="List webhook endpoints")
async def webhook_endpoints_list(
    admin: Admin, session: Session, page: PageQuery
) -> WebhookEndpointPage:
    """Every endpoint, oldest first, without secrets."""
    rows = await endpoints.listed(session, page.key(datetime, uuid.UUID), page.limit + 1)
    items, cursor = page.of(rows, _key)
    return WebhookEndpointPage(
        items=[WebhookEndpointRead.model_validate(row) for row in items], next_cursor=cursor
    )


@router.get(BASE + "/{endpoint_id}", summary="One webhook endpoint")
async def webhook_endpoint_get(
    endpoint_id: uuid.UUID, admin: Admin, session: Session
) -> WebhookEndpointRead:
    """The endpoint's settings and state (failures in a row, why it was disabled)."""
    return WebhookEndpointRead.model_validate(await endpoints.get(session, endpoint_id))


@router.patch(BASE + "/{endpoint_id}", summary="Change a webhook endpoint, or enable it again")
async def webhook_endpoint_update(
    endpoint_id: uuid.UUID,
    body: WebhookEndpointUpdate,
    admin: Admin,
    session: Session,
    request: Request,
) -> WebhookEndpointRead:
    """Changes the URL, description, event filter or enabled flag. Enabling an endpoint that
    was disabled after repeated failures also resets its failure count."""
    changes = body.model_dump(exclude_unset=True)
    updated = await endpoints.update(session, _settings(request), admin.id, endpoint_id, changes)
    return WebhookEndpointRead.model_validate(updated)


@router.delete(
    BASE + "/{endpoint_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a webhook endpoint and its delivery log",
    response_class=Response,
)
async def webhook_endpoint_delete(endpoint_id: uuid.UUID, admin: Admin, session: Session) -> None:
    """Nothing more is sent to the endpoint; its deliveries and attempts are removed with it."""
    await endpoints.delete(session, admin.id, endpoint_id)


@router.post(
    BASE + "/{endpoint_id}/rotate-secret",
    summary="Rotate an endpoint's signing secret (the old one keeps signing for a while)",
)
async def webhook_endpoint_rotate_secret(
    endpoint_id: uuid.UUID, admin: Admin, session: Session, request: Request
) -> WebhookEndpointSecret:
    """Makes a new secret and answers it once. Until `previous_secret_expires_at` every message
    carries two signatures, by the new and the old secret, so the receiver can switch without
    losing a message."""
    endpoint, secret = await endpoints.rotate_secret(
        session, _settings(request), get_config(), admin.id, endpoint_id
    )
    return _with_secret(endpoint, secret)
