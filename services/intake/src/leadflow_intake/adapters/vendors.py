"""HTTP client for the sources that send ids only: it makes the calls each source's fetching declares."""

from __future__ import annotations

from typing import Any

import httpx

from leadflow_intake.domain.sources.spec import Fetching, VendorCall
from leadflow_intake.settings import IntakeSettings


class VendorUnavailable(Exception):
    """The vendor API did not answer usefully now (network, 5xx, 429): try again later."""


class VendorRefused(Exception):
    """The vendor API refused for good (not found, no access): the delivery goes to quarantine."""


class VendorClient:
    """Fetches full lead objects by id with the tokens and base URLs from settings."""

    def __init__(self, settings: IntakeSettings, client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.client = client or httpx.AsyncClient(timeout=settings.fetch_timeout_s)

    async def close(self) -> None:
        """Release the connection pool."""
        await self.client.aclose()

    async def _get(self, url: str, *, params: dict[str, str] | None = None, headers: dict[str, str]) -> Any:
        try:
            response = await self.client.get(url, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise VendorUnavailable(f"GET {url} failed: {exc!r}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise VendorUnavailable(f"GET {url} answered {response.status_code}")
        if response.status_code >= 400:
            raise VendorRefused(f"GET {url} answered {response.status_code}: {response.text[:300]}")
        try:
            return response.json()
        except ValueError as exc:
            raise VendorRefused(f"GET {url} answered something other than JSON") from exc

    async def fetch(self, fetching: Fetching, call: VendorCall) -> Any:
        """What the vendor answers to one call, its URL and headers filled from the source's settings."""
        values = vars(self.settings)
        base = fetching.api_url.format_map(values).rstrip("/")
        headers = {name: template.format_map(values) for name, template in fetching.headers.items()}
        return await self._get(base + call.path, params=dict(call.params) or None, headers=headers)
