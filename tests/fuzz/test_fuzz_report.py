"""The fuzz tier reads Schemathesis's NDJSON report into distinct findings with a request to replay."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.fuzz.test_openapi_fuzz import parse_events


def scenario(case_id: str, status: int, uri: str, body: bytes | None = None) -> dict[str, object]:
    request: dict[str, object] = {"method": "POST", "uri": uri, "headers": {"Authorization": ["[Filtered]"]}}
    if body is not None:
        request["body"] = {"$base64": base64.b64encode(body).decode()}
    failure = {"code": "ST101", "operation": "POST /v1/leads", "title": "Server error", "message": ""}
    return {
        "ScenarioFinished": {
            "phase": "fuzzing",
            "status": "failure",
            "recorder": {
                "label": "POST /v1/leads",
                "checks": {
                    case_id: [
                        {
                            "name": "not_a_server_error",
                            "status": "failure",
                            "failure_info": {"failure": failure},
                        },
                        {"name": "status_code_conformance", "status": "success"},
                    ]
                },
                "interactions": {case_id: {"request": request, "response": {"status_code": status}}},
            },
        }
    }


def test_the_same_failure_seen_twice_is_one_finding_with_the_request_that_showed_it(tmp_path: Path) -> None:
    events = tmp_path / "events.ndjson"
    lines = [
        scenario("a1", 500, "http://127.0.0.1:1/v1/leads", b'{"company_size": 1e400}'),
        scenario("b2", 500, "http://127.0.0.1:1/v1/leads", b"{}"),
        {"NonFatalError": {"label": "GET /v1/x", "info": {"title": "Schema error", "message": "bad $ref"}}},
    ]
    events.write_text("\n".join(json.dumps(line) for line in lines))

    findings, errors = parse_events(events)

    assert [(f.operation, f.code, f.status) for f in findings] == [("POST /v1/leads", "ST101", 500)]
    assert findings[0].curl() == (
        "curl -X POST -H 'Authorization: Bearer $TOKEN' --data-binary '{\"company_size\": 1e400}'"
        " http://127.0.0.1:1/v1/leads"
    )
    assert errors == ["GET /v1/x: Schema error bad $ref"]
