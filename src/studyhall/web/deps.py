"""What every page depends on: who is looking (cookie session), in which language and zone, and
that an unsafe request carries its CSRF token."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request

from studyhall.accounts import service as consent
from studyhall.db.deps import Session, get_database
from studyhall.web.errors import ConsentRequired, CsrfRejected, SignInRequired
from studyhall.web.i18n import Viewer, negotiate
from studyhall.web.rendering import Visit
from studyhall.web.sessions import CSRF_FIELD, CSRF_HEADER, csrf_token, csrf_valid, session_user

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


WEB_PAGE = "web_page"


async def mark_page(request: Request) -> None:
    """Errors raised while this request runs are drawn as HTML pages (see ``handlers``)."""
    setattr(request.state, WEB_PAGE, True)


async def csrf_protect(request: Request) -> None:
    """Every unsafe request of the web app: a form field or (htmx) header with the token."""
    if request.method in SAFE_METHODS:
        return
    presented = request.headers.get(CSRF_HEADER)
    if presented is None:
        form = await request.form()
        field = form.get(CSRF_FIELD)
        presented = field if isinstance(field, str) else None
    if not csrf_valid(request, presented):
        raise CsrfRejected()


def light_visit(request: Request) -> Visit:
    """A visit without the database: for error pages and the pages before sign-in."""
    existing = getattr(request.state, "visit", None)
    if isinstance(existing, Visit):
        return existing
    viewer = Viewer(negotiate(request), ZoneInfo("UTC"))
    return Visit(request=request, user=None, viewer=viewer, csrf=csrf_token(request))


async def visit(request: Request, session: Session) -> Visit:
    user = await session_user(request, session)
    zone = ZoneInfo(user.timezone) if user is not None else ZoneInfo("UTC")
    page = Visit(
        request=request,
        user=user,
        viewer=Viewer(negotiate(request), zone),
        csrf=csrf_token(request),
    )
    request.state.visit = page
    return page


Page = Annotated[Visit, Depends(visit)]


async def signed_in_any_consent(page: Page) -> Visit:
    """Signed in; pages a minor may use before a guardian consents (their own account)."""
    if page.user is None:
        raise SignInRequired()
    return page


async def signed_in(
    request: Request, session: Session, page: Annotated[Visit, Depends(signed_in_any_consent)]
) -> Visit:
    """Signed in, and limited exactly as the API limits a minor without a guardian's consent."""
    assert page.user is not None
    if await consent.blocks(session, page.user, request.app.state.settings):
        raise ConsentRequired()
    return page


AccountPage = Annotated[Visit, Depends(signed_in_any_consent)]
MemberPage = Annotated[Visit, Depends(signed_in)]


async def detached_member(request: Request) -> Visit:
    """Signed in, checked in a transaction of its own that ends before the page runs: for pages
    that call a payment provider between short transactions (no connection waits on it)."""
    async with get_database(request).transaction() as session:
        page = await visit(request, session)
        blocked = page.user is not None and await consent.blocks(
            session, page.user, request.app.state.settings
        )
    if page.user is None:
        raise SignInRequired()
    if blocked:
        raise ConsentRequired()
    return page


DetachedMemberPage = Annotated[Visit, Depends(detached_member)]
