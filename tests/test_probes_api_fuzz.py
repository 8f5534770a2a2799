"""Probe: the dashboard's OpenAPI-described API fuzzed with Schemathesis. Every operation the
schema at /openapi.json describes gets schema-conforming and schema-violating requests
(Schemathesis's positive and negative generation), sent to the real app over the session's scored
dataset. The figure expected is 0 server errors (5xx); the examples per operation are few enough
for the probe to stay well under two minutes on two cores."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from hypewatch.app import Hypewatch
from hypewatch.serving import build_dashboard

EXAMPLES_PER_OPERATION_AND_MODE = 25


@pytest.fixture(scope="module")
def dashboard_asgi(dashboard_dataset):
    app = Hypewatch(dashboard_dataset.settings)
    yield build_dashboard(app)
    app.database.close()


def fuzz(operation, mode: GenerationMode, requests: list[int], server_errors: list[str]) -> None:
    """Send this operation's generated requests in `mode`, recording each one and each 5xx."""

    @settings(max_examples=EXAMPLES_PER_OPERATION_AND_MODE, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(operation.as_strategy(generation_mode=mode))
    def send(case) -> None:
        response = case.call()
        requests.append(response.status_code)
        if response.status_code >= 500:  # recorded, not raised: the figure counts them all
            server_errors.append(f"{response.status_code} {case.method} {case.formatted_path} "
                                 f"query={case.query} body={str(case.body)[:200]}")

    try:
        send()
    except Unsatisfiable:  # no parameters to violate: an operation without input has no negative cases
        if mode is GenerationMode.POSITIVE:
            raise


def test_fuzzed_api_gives_no_server_error(dashboard_asgi, probe_report):
    schema = schemathesis.openapi.from_asgi("/openapi.json", dashboard_asgi)
    operations = [result.ok() for result in schema.get_all_operations()]
    requests: list[int] = []
    server_errors: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz(operation, mode, requests, server_errors)

    probe_report["api_fuzz"] = {"operations": len(operations), "requests": len(requests),
                                "responses_2xx": sum(200 <= status < 300 for status in requests),
                                "responses_4xx": sum(400 <= status < 500 for status in requests),
                                "server_errors": len(server_errors)}
    assert len(operations) >= 5
    assert not server_errors, server_errors[:5]
