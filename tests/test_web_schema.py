"""Property-based API testing against the OpenAPI schema (schemathesis, in process): no answer is a 5xx."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from leosim.web import ServerState, create_app  # noqa: E402

START = "2024-10-25T06:00:00Z"
#: Examples per operation: enough to hit every parameter with odd values, bounded for the 2-core CI.
EXAMPLES = 12

# An in-memory policy store (a fresh, empty one per connection): reads see no rules, writes get 401.
# Host checking is tested in test_web_api; schemathesis's in-process client sends its own Host header.
APP = create_app(ServerState.default(db_path=":memory:", start=START, terminals=8), allowed_hosts=["*"])
# /api/rtt routes up to 200 instants per request (~2 s each): it is covered by test_web_api instead.
schema = schemathesis.openapi.from_asgi("/openapi.json", APP).exclude(path="/api/rtt")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    response = case.call()
    case.validate_response(response, checks=[not_a_server_error])
