"""OpenTelemetry spans over OTLP/HTTP, only when a collector is configured (`<SVC>_OTLP_ENDPOINT`).

A consumed event's span takes the event's W3C traceparent as its parent: the trace is the lead's journey
(its correlation id), so a tracing backend shows one lead's spans across the four services as one trace.
HTTP requests get a server span under the caller's traceparent header, if it sent one. With no endpoint
nothing is imported, created or exported.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadflow_shared.contracts.envelope import Envelope

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer


@dataclass(frozen=True)
class Tracing:
    """A service's tracer and the provider that batches its spans to the collector."""

    tracer: Tracer
    provider: TracerProvider

    def consumed(self, group: str, handled: Sequence[tuple[str, Envelope]], started_ns: int) -> None:
        """One consumer span per event handled in a committed batch (with its topic), from the batch's start
        until now."""
        from opentelemetry.trace import SpanKind

        ended = time.time_ns()
        for topic, envelope in handled:
            span = self.tracer.start_span(
                f"{envelope.type} process",
                context=parent_of(envelope.traceparent),
                kind=SpanKind.CONSUMER,
                start_time=started_ns,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.operation.type": "process",
                    "messaging.destination.name": topic,
                    "messaging.consumer.group.name": group,
                    "messaging.message.id": str(envelope.id),
                    "leadflow.correlation_id": envelope.correlationid,
                    "leadflow.lead_id": envelope.subject or "",
                },
            )
            span.end(end_time=ended)

    def shutdown(self) -> None:
        """Export what is left and stop the exporter's thread."""
        self.provider.shutdown()


def start_tracing(service: str, endpoint: str | None) -> Tracing | None:
    """A tracer exporting to the collector at endpoint (OTLP/HTTP), or None when none is configured."""
    if not endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON

    # Every span is kept: the events' traceparents say "not sampled" because no tracer may be listening.
    provider = TracerProvider(
        resource=Resource.create({"service.name": f"leadflow-{service}"}), sampler=ALWAYS_ON
    )
    exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces", timeout=5)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return Tracing(provider.get_tracer("leadflow"), provider)


def parent_of(traceparent: str | None) -> Any:
    """The OpenTelemetry context of a W3C traceparent (None when there is none or it is malformed)."""
    if not traceparent:
        return None
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator().extract({"traceparent": traceparent})


class TracingMiddleware:
    """A server span per HTTP request when the app's runtime traces; a pass-through otherwise."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = getattr(scope.get("app"), "state", None) if scope["type"] == "http" else None
        tracing: Tracing | None = getattr(getattr(state, "runtime", None), "tracing", None)
        if tracing is None:
            await self.app(scope, receive, send)
            return
        from opentelemetry.trace import SpanKind, StatusCode

        headers = dict(scope.get("headers") or [])
        traceparent = headers.get(b"traceparent", b"").decode("latin-1") or None
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        span = tracing.tracer.start_span(
            scope["method"], context=parent_of(traceparent), kind=SpanKind.SERVER
        )
        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None)
            span.update_name(f"{scope['method']} {route or 'unmatched'}")
            span.set_attribute("http.request.method", scope["method"])
            span.set_attribute("http.route", route or "")
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(StatusCode.ERROR)
            span.end()
