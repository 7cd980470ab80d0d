"""With an OTLP endpoint set, the four services send OpenTelemetry spans, one lead's spans in one trace."""

from __future__ import annotations

import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import pytest_asyncio
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from leadflow_devstack.testing import SERVICES, TestStack, new_test_stack, services_running, wait_until

from .test_full_pipeline import auth, lead

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Span:
    """One exported span, as a collector received it."""

    service: str
    trace_id: str
    name: str
    kind: int
    attributes: dict[str, Any]


class Collector:
    """A real OTLP/HTTP endpoint (protobuf) on a free port, keeping every span it is sent."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = ExportTraceServiceRequest.FromString(body)
                for resource_spans in request.resource_spans:
                    service = next(
                        a.value.string_value
                        for a in resource_spans.resource.attributes
                        if a.key == "service.name"
                    )
                    for scope_spans in resource_spans.scope_spans:
                        for span in scope_spans.spans:
                            attributes = {a.key: _value(a.value) for a in span.attributes}
                            collector.spans.append(
                                Span(service, span.trace_id.hex(), span.name, span.kind, attributes)
                            )
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def in_trace(self, trace_id: str) -> list[Span]:
        return [span for span in list(self.spans) if span.trace_id == trace_id]


def _value(value: Any) -> Any:
    return getattr(value, value.WhichOneof("value")) if value.WhichOneof("value") else None


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    found = Collector()
    yield found
    found.server.shutdown()


@pytest_asyncio.fixture(scope="module")
async def traced_stack() -> AsyncIterator[TestStack]:
    """A stack of its own, so that only traced processes consume its topics."""
    stack = new_test_stack("tr")
    await stack.create()
    yield stack
    await stack.destroy()


async def test_one_leads_spans_from_the_four_services_share_the_trace_of_its_journey(
    traced_stack: TestStack, collector: Collector
) -> None:
    extra = {name: {f"{name.upper()}_OTLP_ENDPOINT": collector.url} for name in SERVICES}
    journey = str(uuid.uuid4())
    body = lead("Ingrid", "Dahl", f"tromso-cargo-{uuid.uuid4().hex[:6]}.example", company="Tromsø Cargo AS")
    with services_running(traced_stack, extra) as services:
        async with httpx.AsyncClient(base_url=services["intake"].url, timeout=10) as client:
            answer = await client.post(
                "/v1/leads",
                json=body,
                headers={**auth(traced_stack.tokens["write"]), "X-Correlation-ID": journey},
            )
        assert answer.status_code == 202, answer.text

        def processed() -> dict[str, set[str]]:
            seen: dict[str, set[str]] = {}
            for span in collector.in_trace(uuid.UUID(journey).hex):
                seen.setdefault(span.service, set()).add(span.name)
            return seen

        async def every_service_traced() -> dict[str, set[str]] | None:
            seen = processed()
            return seen if len(seen) == len(SERVICES) else None

        seen = await wait_until(every_service_traced, within=60)

    assert "lead.submitted process" in seen["leadflow-intake"]
    assert "lead.captured process" in seen["leadflow-qualification"]
    assert "lead.qualified process" in seen["leadflow-opportunity"]
    assert "lead.status_changed process" in seen["leadflow-nurture"]
    requests = [s for s in collector.spans if s.service == "leadflow-intake" and s.name == "POST /v1/leads"]
    assert requests
    assert requests[0].attributes["http.response.status_code"] == 202
    # Spans name events and routes, never the person.
    for span in collector.spans:
        for value in span.attributes.values():
            assert body["email"] not in str(value), span
            assert "Dahl" not in str(value), span
