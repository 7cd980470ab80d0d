"""The lead sources intake understands: one parser per vendor, and how each proves who sent it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from leadflow_shared.contracts.lead import Channel

from . import activecampaign, google_ads, hubspot, linkedin, mailchimp, meta, salesforce_web_to_lead, zoom
from .common import ConsentChange, Ignored, PayloadError, SourceResult


class AuthMethod(StrEnum):
    """How a source's deliveries are authenticated."""

    SHARED_KEY_IN_BODY = "shared_key_in_body"
    HMAC_SIGNATURE = "hmac_signature"
    URL_SECRET = "url_secret"


class PayloadShape(StrEnum):
    """What the parser is given."""

    JSON = "json"
    FORM_FIELDS = "form_fields"
    FETCHED_OBJECT = "fetched_object"


Parser = Callable[[Mapping[str, Any]], SourceResult]


@dataclass(frozen=True)
class SourceSpec:
    """One lead source: its name, channel, how it authenticates and how its payload is parsed."""

    name: str
    title: str
    channel: Channel
    auth: AuthMethod
    shape: PayloadShape
    parse: Parser
    auth_header: str | None = None
    dedup_key: str = ""


def _spec(spec: SourceSpec) -> tuple[str, SourceSpec]:
    return spec.name, spec


SOURCES: dict[str, SourceSpec] = dict(
    [
        _spec(
            SourceSpec(
                google_ads.SOURCE,
                "Google Ads lead form",
                Channel.PAID_ADS,
                AuthMethod.SHARED_KEY_IN_BODY,
                PayloadShape.JSON,
                google_ads.parse_google_ads,
                dedup_key="lead_id",
            )
        ),
        _spec(
            SourceSpec(
                meta.SOURCE,
                "Meta Lead Ads",
                Channel.PAID_ADS,
                AuthMethod.HMAC_SIGNATURE,
                PayloadShape.FETCHED_OBJECT,
                meta.parse_meta,
                auth_header="X-Hub-Signature-256",
                dedup_key="leadgen_id",
            )
        ),
        _spec(
            SourceSpec(
                linkedin.SOURCE,
                "LinkedIn Lead Sync",
                Channel.PAID_ADS,
                AuthMethod.HMAC_SIGNATURE,
                PayloadShape.FETCHED_OBJECT,
                linkedin.parse_linkedin,
                auth_header="X-LI-Signature",
                dedup_key="leadGenFormResponse URN",
            )
        ),
        _spec(
            SourceSpec(
                mailchimp.SOURCE,
                "Mailchimp audience",
                Channel.EMAIL,
                AuthMethod.URL_SECRET,
                PayloadShape.FORM_FIELDS,
                mailchimp.parse_mailchimp,
                dedup_key="data[id] + data[list_id] + type + fired_at",
            )
        ),
        _spec(
            SourceSpec(
                activecampaign.SOURCE,
                "ActiveCampaign",
                Channel.WEB_FORM,
                AuthMethod.URL_SECRET,
                PayloadShape.FORM_FIELDS,
                activecampaign.parse_activecampaign,
                dedup_key="contact[id] + type + date_time",
            )
        ),
        _spec(
            SourceSpec(
                salesforce_web_to_lead.SOURCE,
                "Salesforce Web-to-Lead",
                Channel.WEB_FORM,
                AuthMethod.URL_SECRET,
                PayloadShape.FORM_FIELDS,
                salesforce_web_to_lead.parse_salesforce_web_to_lead,
                dedup_key="digest of the posted fields",
            )
        ),
        _spec(
            SourceSpec(
                hubspot.SOURCE,
                "HubSpot contacts",
                Channel.WEB_FORM,
                AuthMethod.HMAC_SIGNATURE,
                PayloadShape.FETCHED_OBJECT,
                hubspot.parse_hubspot,
                auth_header="X-HubSpot-Signature-v3",
                dedup_key="contact id (eventId for the notification)",
            )
        ),
        _spec(
            SourceSpec(
                zoom.SOURCE,
                "Zoom webinars",
                Channel.WEBINAR,
                AuthMethod.HMAC_SIGNATURE,
                PayloadShape.JSON,
                zoom.parse_zoom,
                auth_header="x-zm-signature",
                dedup_key="webinar id + registrant id",
            )
        ),
    ]
)


def parse_payload(source: str, payload: Mapping[str, Any]) -> SourceResult:
    """Parse a payload of a named source; raises PayloadError for an unknown source or a bad payload."""
    spec = SOURCES.get(source)
    if spec is None:
        raise PayloadError(f"unknown lead source {source!r}; known: {', '.join(sorted(SOURCES))}")
    try:
        return spec.parse(payload)
    except PayloadError:
        raise
    except (TypeError, AttributeError, ValueError) as exc:
        # Vendor payloads are untrusted: any shape surprise is a bad payload, not a crash.
        raise PayloadError(f"{source} payload could not be read: {exc}") from exc


__all__ = [
    "SOURCES",
    "AuthMethod",
    "ConsentChange",
    "Ignored",
    "PayloadError",
    "PayloadShape",
    "SourceResult",
    "SourceSpec",
    "parse_payload",
]


def source_key(name: str) -> str:
    """The internal name of a source as URLs and upstream events spell it ("google-ads" -> "google_ads")."""
    return name.strip().lower().replace("-", "_")
