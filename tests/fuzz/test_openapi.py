"""Schemathesis over the whole OpenAPI document, as a student, a tutor and an admin, against a
real server: no request may get a 5xx, and every response must match what the document declares
(status, media type, body schema).

Deterministic: Hypothesis is derandomized and every operation gets a fixed number of generated
requests (``STUDYHALL_FUZZ_EXAMPLES`` raises it for a longer local run)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fuzz.conftest import ROLES, LiveServer

EXAMPLES = int(os.environ.get("STUDYHALL_FUZZ_EXAMPLES", "4"))
# Requests that fit the schema reach the business rules; half as many that do not are enough to
# show the refusals are 4xx problems.
RUNS = (
    (schemathesis.GenerationMode.POSITIVE, EXAMPLES),
    (schemathesis.GenerationMode.NEGATIVE, max(1, EXAMPLES // 2)),
)
# A local run may narrow the operations to those whose path matches this regular expression.
ONLY = re.compile(os.environ.get("STUDYHALL_FUZZ_ONLY", ""))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# An open event stream never ends; its own tests read it over a real socket.
NEVER_ENDING = {("GET", "/api/v1/notifications/stream")}
# Operations after whose success the caller's session (or account) is no longer what it was.
CHANGES_THE_CALLER = {
    ("DELETE", "/api/v1/me"),
    ("PATCH", "/api/v1/me"),
    ("POST", "/api/v1/auth/sign-out-everywhere"),
    ("POST", "/api/v1/auth/change-password"),
}


@dataclass
class Findings:
    failures: dict[str, str] = field(default_factory=dict)
    requests: int = 0

    def report(self) -> str:
        return "\n\n".join(f"{label}:\n{text}" for label, text in sorted(self.failures.items()))


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


def _fuzz_operation(
    operation: schemathesis.APIOperation,
    mode: schemathesis.GenerationMode,
    examples: int,
    call: Callable[[schemathesis.Case], None],
) -> None:
    @_settings(examples)
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        call(case)

    run()


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_as(fuzzed_server: LiveServer, role: str) -> None:
    schema = schemathesis.openapi.from_dict(fuzzed_server.openapi)
    headers = {"auth": fuzzed_server.sign_in_as(role)}
    findings = Findings()
    session = requests.Session()

    def call(case: schemathesis.Case) -> None:
        findings.requests += 1
        response = case.call(
            base_url=fuzzed_server.base_url, session=session, headers=headers["auth"], timeout=30
        )
        if (case.method, case.path) in CHANGES_THE_CALLER and response.status_code < 400:
            headers["auth"] = fuzzed_server.sign_in_as(role)
        case.validate_response(response, checks=CHECKS)

    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in NEVER_ENDING:
            continue
        if not ONLY.search(operation.path):
            continue
        for mode, examples in RUNS:
            label = f"{operation.method.upper()} {operation.path} [{mode.value}]"
            try:
                _fuzz_operation(operation, mode, examples, call)
            except Unsatisfiable:
                pass  # nothing can break this operation's schema (it takes no input)
            except (Exception, BaseExceptionGroup) as exc:
                findings.failures[label] = _describe(exc)
    assert not findings.failures, (
        f"{len(findings.failures)} operation(s) failed as {role} ({findings.requests} requests; "
        f"the server's log: {fuzzed_server.log}):\n\n{findings.report()}"
    )


def _describe(exc: BaseException) -> str:
    return str(exc).strip()[:3000]
