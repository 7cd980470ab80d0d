"""HTTP client for the sources that send ids only: Meta Graph, LinkedIn Lead Sync, HubSpot CRM."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from leadflow_intake.settings import IntakeSettings

META_LEAD_FIELDS = (
    "id,created_time,ad_id,adset_id,campaign_id,campaign_name,form_id,is_organic,platform,"
    "field_data,custom_disclaimer_responses"
)
HUBSPOT_PROPERTIES = (
    "email,firstname,lastname,company,website,jobtitle,phone,mobilephone,country,industry,"
    "numberofemployees,hs_analytics_source,hs_email_optout,lifecyclestage,createdate,"
    "utm_source,utm_medium,utm_campaign"
)


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

    async def meta_lead(self, leadgen_id: str) -> Any:
        """The Graph API lead object of a leadgen id."""
        return await self._get(
            f"{self.settings.meta_graph_url.rstrip('/')}/{quote(leadgen_id, safe='')}",
            params={"fields": META_LEAD_FIELDS},
            headers={"Authorization": f"Bearer {self.settings.meta_access_token}"},
        )

    def _linkedin_headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.settings.linkedin_access_token}",
            "LinkedIn-Version": self.settings.linkedin_version,
            "X-Restli-Protocol-Version": "2.0.0",
        }

    async def linkedin_response(self, response_id: str) -> Any:
        """A lead form response by id."""
        base = self.settings.linkedin_api_url.rstrip("/")
        return await self._get(
            f"{base}/leadFormResponses/{quote(response_id, safe='')}", headers=self._linkedin_headers()
        )

    async def linkedin_form(self, form_urn: str) -> Any:
        """A lead form (its questions) by its versioned form URN."""
        base = self.settings.linkedin_api_url.rstrip("/")
        return await self._get(
            f"{base}/leadForms/{quote(form_urn, safe='')}", headers=self._linkedin_headers()
        )

    async def hubspot_contact(self, object_id: str) -> Any:
        """A CRM contact with the properties intake reads."""
        base = self.settings.hubspot_api_url.rstrip("/")
        return await self._get(
            f"{base}/crm/v3/objects/contacts/{quote(object_id, safe='')}",
            params={"properties": HUBSPOT_PROPERTIES},
            headers={"Authorization": f"Bearer {self.settings.hubspot_access_token}"},
        )
