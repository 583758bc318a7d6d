"""A client generated from the OpenAPI document works against the real server.

``openapi-python-client`` turns ``/openapi.json`` into a typed Python package; a short journey
with it (sign up, sign in, find a tutor and a slot, pay with credits, upload, search) runs
against ``uvicorn`` on a loopback socket. What the journey calls is found by method and path,
not by hand-written code, so the generated request and response models are what is exercised:
an answer that no longer matches the document fails here.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import typing
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import text

from studyhall.billing.config import configure_billing
from studyhall.bootstrap import DatabaseUrls
from studyhall.config import Settings
from studyhall.db.engine import Database
from tests.conftest import run_jobs
from tests.foundation.openapi_walk import OpenApi
from tests.live import live_server

PACKAGE = "studyhall_client"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"
OUTPUT = ("--output-path", PACKAGE, "--config", "config.yml")
# A download answers application/zip: the generator knows binary bodies as octet-stream.
CONFIG = "content_type_overrides:\n  application/zip: application/octet-stream\n"
PASSWORD = "correct horse battery staple 7"
NOTES = "# Plants\n\nPhotosynthesis turns light, water and carbon dioxide into sugar.\n"


@dataclass(frozen=True)
class Generated:
    root: Path
    output: str
    spec: dict[str, Any]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    root = tmp_path_factory.mktemp("client")
    spec = OpenApi.of_app().document
    (root / "openapi.json").write_text(json.dumps(spec))
    (root / "config.yml").write_text(CONFIG)
    # The generator formats its output with ruff: the venv's bin must be on the PATH.
    env = {**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [str(GENERATOR), "generate", "--path", "openapi.json", "--meta", "none", *OUTPUT],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(root))
    try:
        yield Generated(root, done.stdout + done.stderr, spec)
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def test_every_operation_is_generated_without_warnings(generated: Generated) -> None:
    warnings = [
        line
        for line in generated.output.splitlines()
        if "WARNING" in line or "Unable to parse" in line or "Cannot parse" in line
    ]
    assert not warnings, "\n".join(warnings)
    modules = {path.stem for path in (generated.root / PACKAGE / "api").glob("*/*.py")}
    missing = sorted(
        op.spec["operationId"]
        for op in OpenApi(generated.spec).operations()
        if op.spec["operationId"] not in modules
    )
    assert not missing, missing


class Api:
    """The generated client, reached by an operation's method and path."""

    def __init__(self, generated: Generated, base_url: str) -> None:
        self.root = generated.root / PACKAGE
        self.operations = {
            (op.method, op.path): op.spec["operationId"]
            for op in OpenApi(generated.spec).operations()
        }
        client = importlib.import_module(f"{PACKAGE}.client")
        self.types = importlib.import_module(f"{PACKAGE}.types")
        self.base_url = base_url
        self.anonymous = client.Client(base_url=base_url, raise_on_unexpected_status=True)
        self._authenticated = client.AuthenticatedClient

    def signed_in(self, token: str) -> Any:
        return self._authenticated(
            base_url=self.base_url, token=token, raise_on_unexpected_status=True
        )

    def module(self, method: str, path: str) -> ModuleType:
        operation_id = self.operations[(method, f"/api/v1{path}")]
        [found] = self.root.glob(f"api/*/{operation_id}.py")
        return importlib.import_module(f"{PACKAGE}.api.{found.parent.name}.{operation_id}")

    def body(self, method: str, path: str, **fields: Any) -> Any:
        """The operation's generated body model, built from plain values as a client would."""
        call = self.module(method, path).asyncio_detailed
        model = _concrete(typing.get_type_hints(call)["body"], self.types.Unset)
        return model.from_dict(fields)

    async def call(
        self, method: str, path: str, client: Any, *, expect: int, **arguments: Any
    ) -> Any:
        """Call the operation; the answer must have status ``expect`` and parse to its model."""
        response = await self.module(method, path).asyncio_detailed(client=client, **arguments)
        assert response.status_code == expect, (method, path, response.content)
        assert response.parsed is not None, (method, path, response.content)
        return response.parsed


def _concrete(hint: Any, unset: type) -> type:
    options = [h for h in typing.get_args(hint) or (hint,) if h not in (unset, type(None))]
    [model] = options
    return typing.cast(type, model)


def _items(page: Any) -> list[Any]:
    """A list answer is a page: ``items`` and ``next_cursor``."""
    assert hasattr(page, "items") and hasattr(page, "next_cursor"), type(page)
    return list(page.items)


async def _promote(owner_db: Database, user_id: Any, sql: str) -> None:
    async with owner_db.transaction() as session:
        await session.execute(text(sql), {"id": str(user_id)})


@pytest.fixture
def credits_and_manual_payments() -> Iterator[None]:
    configure_billing(None)
    yield
    configure_billing(None)


async def test_a_generated_client_signs_up_books_pays_uploads_and_searches(
    generated: Generated,
    settings: Settings,
    database_urls: DatabaseUrls,
    db: Database,
    owner_db: Database,
    credits_and_manual_payments: None,
) -> None:
    with live_server(settings, database_urls.app) as base_url:
        api = Api(generated, base_url)
        journey = Journey(api, owner_db)
        await journey.run()


@dataclass
class Journey:
    api: Api
    owner_db: Database
    booking_id: Any = None

    async def sign_up(self, role: str, name: str) -> Any:
        body = self.api.body(
            "POST",
            "/auth/sign-up",
            email=f"{role}-{uuid.uuid4().hex[:8]}@example.org",
            password=PASSWORD,
            name=name,
            role=role,
        )
        tokens = await self.api.call(
            "POST", "/auth/sign-up", self.api.anonymous, expect=201, body=body
        )
        me = await self.api.call("GET", "/me", self.api.signed_in(tokens.access_token), expect=200)
        return me

    async def sign_in(self, email: str) -> Any:
        body = self.api.body("POST", "/auth/sign-in", email=email, password=PASSWORD)
        tokens = await self.api.call(
            "POST", "/auth/sign-in", self.api.anonymous, expect=200, body=body
        )
        return self.api.signed_in(tokens.access_token)

    async def run(self) -> None:
        api = self.api
        tutor_me = await self.sign_up("tutor", "Tess Tutor")
        student_me = await self.sign_up("student", "Sam Student")
        admin_me = await self.sign_up("student", "Ada Admin")
        await _promote(
            self.owner_db,
            tutor_me.id,
            "UPDATE tutor_profiles SET verification_status = 'verified' WHERE user_id = :id",
        )
        await _promote(self.owner_db, admin_me.id, "UPDATE users SET role = 'admin' WHERE id = :id")
        tutor = await self.sign_in(tutor_me.email)
        student = await self.sign_in(student_me.email)
        admin = await self.sign_in(admin_me.email)

        offering = await self.tutor_offers_lessons(tutor)
        slot = await self.student_finds_a_slot(student, tutor_me.id, offering.id)
        await self.admin_grants_credits(admin, student_me.id)
        await self.student_books_with_credits(student, slot.id)
        await self.student_uploads_and_searches(student)
        mine = await api.call("GET", "/bookings", student, expect=200)
        assert [b.id for b in _items(mine)] == [self.booking_id]

    async def tutor_offers_lessons(self, tutor: Any) -> Any:
        api = self.api
        body = api.body(
            "POST",
            "/offerings",
            title="Biology 1:1",
            description="Plants, cells and how they make food.",
            duration_minutes=60,
            price_cents=2500,
            currency="USD",
            topic_tags=["biology"],
        )
        offering = await api.call("POST", "/offerings", tutor, expect=201, body=body)
        rule = api.body(
            "POST",
            "/availability-rules",
            timezone="UTC",
            start_date=date.today().isoformat(),
            start_time="00:00",
            end_time="23:45",
            rrule="FREQ=DAILY",
        )
        await api.call("POST", "/availability-rules", tutor, expect=201, body=rule)
        await run_jobs()  # slots are materialized by the job the rule enqueued
        return offering

    async def student_finds_a_slot(self, student: Any, tutor_id: Any, offering_id: Any) -> Any:
        api = self.api
        tutors = _items(await api.call("GET", "/tutors", api.anonymous, expect=200))
        assert tutor_id in [t.user_id for t in tutors]
        offering = await api.call(
            "GET", "/offerings/{offering_id}", student, expect=200, offering_id=offering_id
        )
        assert (offering.price_cents, offering.currency) == (2500, "USD")
        soon = datetime.now(UTC) + timedelta(days=2)
        slots = _items(
            await api.call(
                "GET",
                "/slots",
                student,
                expect=200,
                offering_id=offering_id,
                from_=soon,
                to=soon + timedelta(days=5),
                limit=5,
            )
        )
        assert slots
        return slots[0]

    async def admin_grants_credits(self, admin: Any, student_id: Any) -> None:
        path = "/billing/admin/users/{user_id}/credits"
        body = self.api.body("POST", path, delta=40, note="welcome")
        entry = await self.api.call(
            "POST",
            path,
            admin,
            expect=201,
            user_id=student_id,
            body=body,
            idempotency_key=str(uuid.uuid4()),
        )
        assert entry.balance_after == 40

    async def student_books_with_credits(self, student: Any, slot_id: Any) -> None:
        api = self.api
        body = api.body("POST", "/bookings", slot_id=str(slot_id), pay_with="credits")
        key = str(uuid.uuid4())
        booked = await api.call(
            "POST", "/bookings", student, expect=201, body=body, idempotency_key=key
        )
        assert (booked.status, booked.payment.credits_spent) == ("confirmed", 25)
        again = await api.call(
            "POST", "/bookings", student, expect=201, body=body, idempotency_key=key
        )
        assert again.id == booked.id
        self.booking_id = booked.id

    async def student_uploads_and_searches(self, student: Any) -> None:
        api = self.api
        types = api.types
        call = api.module("POST", "/materials").asyncio_detailed
        form = _concrete(typing.get_type_hints(call)["body"], types.Unset)
        upload = form(file=types.File(BytesIO(NOTES.encode()), "plants.md", "text/markdown"))
        material = await api.call("POST", "/materials", student, expect=201, body=upload)
        await run_jobs()
        ready = await api.call(
            "GET", "/materials/{material_id}", student, expect=200, material_id=material.id
        )
        assert ready.processing_status == "completed"
        query = api.body("POST", "/search", query="photosynthesis sugar")
        found = await api.call("POST", "/search", student, expect=200, body=query)
        hits = list(getattr(found, "items", found))
        assert [hit.material_id for hit in hits][:1] == [material.id]
