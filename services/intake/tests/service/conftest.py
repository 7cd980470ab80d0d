"""Intake on the real Postgres, driven over HTTP in-process; its consumers run from the outbox, no Kafka."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import asyncpg
import httpx
import pytest
import pytest_asyncio

from leadflow_devstack.testing import TestStack
from leadflow_intake.adapters.vendors import VendorClient
from leadflow_intake.bootstrap import body_limits, dedup_policy
from leadflow_intake.entrypoints import consumers, export, http, people, webhooks
from leadflow_intake.settings import IntakeSettings
from leadflow_shared.consumer import EventConsumer, On, Prepare
from leadflow_shared.contracts.envelope import Envelope, decode, decode_data
from leadflow_shared.contracts.topics import INTAKE_ERASURES, INTAKE_EVENTS
from leadflow_shared.db import create_pool
from leadflow_shared.http import create_app
from leadflow_shared.runtime import Runtime, ServiceDefinition
from leadflow_shared.uow import UnitOfWorkFactory

SECRETS = {
    "google_ads_key": "google-form-key-7d1e",
    "meta_app_secret": "meta-app-secret-51c0",
    "meta_verify_token": "meta-verify-token-a9",
    "meta_access_token": "meta-page-token",
    "linkedin_client_secret": "linkedin-client-secret-3f",
    "linkedin_access_token": "linkedin-token",
    "mailchimp_secret": "mailchimp-url-secret-88",
    "activecampaign_secret": "activecampaign-url-secret-12",
    "salesforce_web_to_lead_secret": "salesforce-url-secret-40",
    "hubspot_client_secret": "hubspot-client-secret-e2",
    "hubspot_access_token": "hubspot-token",
    "zoom_secret_token": "zoom-secret-token-6b",
}


class VendorApi:
    """A real local HTTP server answering GETs with canned JSON, as Meta, LinkedIn and HubSpot would."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, Any]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        # Called on each request before it is answered (in the server's thread).
        self.on_request: Callable[[], None] | None = None
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                api.requests.append((self.path, dict(self.headers)))
                if api.on_request is not None:
                    api.on_request()
                code, body = api.routes.get(path, (404, {"error": {"message": "not found"}}))
                raw = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@dataclass
class Intake:
    """The intake app in-process, its pool, and a consumer that reads its own outbox instead of Kafka."""

    client: httpx.AsyncClient
    pool: asyncpg.Pool
    uow: UnitOfWorkFactory
    settings: IntakeSettings
    handlers: dict[str, On[Any]]
    prepare: Prepare
    vendor: VendorApi
    tokens: dict[str, str]
    events: list[Envelope] = field(default_factory=list)

    def auth(self, scope: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[scope]}"}

    async def drain(self, *, redeliver: bool = False) -> list[Envelope]:
        """Handle every pending upstream message as intake's consumers would; return intake's new events."""
        emitted: list[Envelope] = []
        while True:
            async with self.pool.acquire() as conn, conn.transaction():
                rows = await conn.fetch(
                    "SELECT id, topic, payload FROM outbox WHERE published_at IS NULL ORDER BY id FOR UPDATE"
                )
                await conn.execute(
                    "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
                    [r["id"] for r in rows],
                )
            if not rows:
                break
            for row in rows:
                envelope = decode(row["payload"])
                if row["topic"].endswith((INTAKE_EVENTS, INTAKE_ERASURES)):
                    emitted.append(envelope)
                    continue
                handler = self.handlers.get(envelope.type)
                if handler is None:
                    continue
                for _ in range(2 if redeliver else 1):
                    await self.handle(envelope, handler)
        self.events.extend(emitted)
        return emitted

    async def handle(self, envelope: Envelope, handler: On[Any] | None = None) -> None:
        """Handle one event as intake's consumer would: its network work first, then its transaction."""
        data = decode_data(envelope)
        prepared = await self.prepare(self.pool, [(envelope, data)])
        async with self.uow(prepared) as uow:
            await (handler or self.handlers[envelope.type]).handle(uow, [(envelope, data)])


@pytest.fixture(scope="session")
def vendor_api() -> Iterator[VendorApi]:
    api = VendorApi()
    yield api
    api.close()


@pytest_asyncio.fixture(scope="session")
async def intake(service_stack: TestStack, vendor_api: VendorApi) -> AsyncIterator[Intake]:
    settings = IntakeSettings(
        database_url=service_stack.dsn("intake"),
        topic_prefix=service_stack.topic_prefix,
        api_tokens={service_stack.tokens[s]: [s] for s in ("admin", "write", "read")},
        meta_graph_url=f"{vendor_api.url}/meta",
        linkedin_api_url=f"{vendor_api.url}/linkedin",
        hubspot_api_url=f"{vendor_api.url}/hubspot",
        public_base_url="http://intake.test",
        **cast(dict[str, Any], SECRETS),
    )
    pool = await create_pool(service_stack.dsn("intake"), "intake")
    uow = UnitOfWorkFactory(pool, "intake", service_stack.topic_prefix)
    vendors = VendorClient(settings)
    client = intake_client(settings, pool, uow)
    yield Intake(
        client,
        pool,
        uow,
        settings,
        consumers.handlers(vendors, dedup_policy(settings)),
        consumers.prepare(vendors),
        vendor_api,
        service_stack.tokens,
    )
    await client.aclose()
    await vendors.close()
    await pool.close()


def intake_client(settings: IntakeSettings, pool: asyncpg.Pool, uow: UnitOfWorkFactory) -> httpx.AsyncClient:
    """An HTTP client talking in-process to an intake app with these settings."""
    definition = ServiceDefinition(title="intake", description="test", settings=settings)
    app = create_app(
        title="intake",
        description="test",
        api_tokens=settings.api_tokens,
        ready_check=_always_ready,
        body_limits=body_limits(settings),
    )
    app.include_router(http.router)
    app.include_router(webhooks.router)
    app.include_router(people.router)
    app.include_router(export.router)
    app.state.runtime = Runtime(
        definition=definition,
        pool=pool,
        producer=None,
        relay=None,  # type: ignore[arg-type]
        uow=uow,
        consumers=[],
        stopping=asyncio.Event(),
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake.test")


async def _always_ready() -> dict[str, bool]:
    return {"database": True}


@asynccontextmanager
async def submissions_consumer(intake: Intake) -> AsyncIterator[EventConsumer]:
    """intake's consumer of leads.submitted on the test's pool, with no broker: hand batches to _process."""
    vendors = VendorClient(intake.settings)
    [submissions, *_] = consumers.subscriptions(vendors, dedup_policy(intake.settings))
    consumer = EventConsumer(
        submissions,
        service="intake",
        pool=intake.pool,
        bootstrap_servers="127.0.0.1:1",
        topic_prefix=intake.settings.topic_prefix,
    )
    try:
        yield consumer
    finally:
        await consumer.consumer.stop()
        await vendors.close()
