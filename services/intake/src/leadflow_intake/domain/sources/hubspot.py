"""HubSpot: a signed array of contact events with ids only, then the fetched contact object."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from leadflow_shared.contracts.lead import Campaign, Channel, Consent, LeadSubmission

from .common import (
    PayloadError,
    answers_from,
    as_mapping,
    from_iso,
    from_unix_ms,
    hmac_sha256,
    is_fresh,
    person_fields,
    require,
    secrets_match,
    signed_at,
    text,
    truthy,
)
from .spec import Authenticity, Delivery, Fetching, NamedLead, Setting, Source, VendorCall

SOURCE = "hubspot"
FETCHED_PROPERTIES = (
    "email,firstname,lastname,company,website,jobtitle,phone,mobilephone,country,industry,"
    "numberofemployees,hs_analytics_source,hs_email_optout,lifecyclestage,createdate,"
    "utm_source,utm_medium,utm_campaign"
)

# The characters HubSpot's v3 validation decodes in the URI before signing; everything else stays encoded.
_URI_DECODES: dict[str, str] = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}
_URI_ESCAPE = re.compile("|".join(_URI_DECODES), flags=re.IGNORECASE)

# Contact properties -> canonical submission fields.
PROPERTIES: dict[str, str] = {
    "firstname": "first_name",
    "lastname": "last_name",
    "email": "email",
    "phone": "phone",
    "mobilephone": "mobile",
    "company": "company",
    "website": "website",
    "jobtitle": "job_title",
    "country": "country",
    "industry": "industry",
    "numberofemployees": "company_size",
}
# hs_analytics_source ("original source") -> channel.
ANALYTICS_SOURCE_CHANNELS: dict[str, Channel] = {
    "ORGANIC_SEARCH": Channel.WEBSITE,
    "DIRECT_TRAFFIC": Channel.WEBSITE,
    "PAID_SEARCH": Channel.PAID_ADS,
    "PAID_SOCIAL": Channel.PAID_ADS,
    "SOCIAL_MEDIA": Channel.SOCIAL,
    "EMAIL_MARKETING": Channel.EMAIL,
    "REFERRALS": Channel.REFERRAL,
    "OTHER_CAMPAIGNS": Channel.WEB_FORM,
    "OFFLINE": Channel.IMPORT,
    "AI_REFERRALS": Channel.REFERRAL,
}
_QUESTION_PROPERTIES = ("budget", "authority", "need", "timeline", "timeframe", "decision", "challenge")


@dataclass(frozen=True)
class ContactEvent:
    """One webhook event: which contact to fetch, and the event id to deduplicate on."""

    event_id: str
    object_id: str
    subscription_type: str
    occurred_at: datetime | None


def _canonical_uri(uri: str) -> str:
    return _URI_ESCAPE.sub(lambda m: _URI_DECODES[m.group(0).upper()], uri)


def verify_signature_v3(
    *,
    method: str,
    uri: str,
    raw_body: bytes,
    timestamp: str | None,
    signature: str | None,
    client_secret: str,
    now: datetime,
) -> bool:
    """Check X-HubSpot-Signature-v3: base64 HMAC-SHA256 of method+uri+body+timestamp (ms), within 5 min."""
    if timestamp is None or not signature or not client_secret:
        return False
    if not is_fresh(signed_at(timestamp, millis=True), now):
        return False
    message = method.upper().encode() + _canonical_uri(uri).encode() + raw_body + timestamp.encode()
    expected = base64.b64encode(hmac_sha256(client_secret, message)).decode()
    return secrets_match(signature.strip(), expected)


def contact_events(events: Sequence[Any]) -> list[ContactEvent]:
    """The contact events in a webhook POST (a JSON array); other object types are skipped."""
    found: list[ContactEvent] = []
    for item in events:
        event = as_mapping(item, "hubspot event")
        kind = text(event.get("subscriptionType")) or ""
        if not (kind.startswith("contact.") or kind == "object.creation"):
            continue
        event_id, object_id = text(event.get("eventId")), text(event.get("objectId"))
        if event_id is None or object_id is None:
            raise PayloadError("hubspot event lacks 'eventId' or 'objectId'")
        found.append(ContactEvent(event_id, object_id, kind, from_unix_ms(event.get("occurredAt"))))
    return found


def parse_hubspot(contact: Mapping[str, Any]) -> LeadSubmission:
    """Map a fetched CRM contact ({"id", "properties": {...}}) to a submission."""
    contact_id = text(require(contact, "id", SOURCE))
    properties = as_mapping(require(contact, "properties", SOURCE), "hubspot contact properties")
    known: dict[str, str] = {}
    questions: dict[str, str] = {}
    for name, raw in properties.items():
        value = text(raw)
        if value is None:
            continue
        target = PROPERTIES.get(name)
        if target is not None:
            known[target] = value
        elif any(q in name.lower() for q in _QUESTION_PROPERTIES):
            questions[name] = value
    answers, custom = answers_from(questions)
    for name in (
        "lifecyclestage",
        "hs_analytics_source_data_1",
        "hs_analytics_source_data_2",
        "hs_object_id",
    ):
        if text(properties.get(name)):
            custom[name] = properties[name]
    if "mobile" in known and "phone" in known:
        custom["mobilephone"] = known["mobile"]
    analytics_source = text(properties.get("hs_analytics_source"))
    if analytics_source:
        custom["hs_analytics_source"] = analytics_source
    opted_out = truthy(properties.get("hs_email_optout"))
    return LeadSubmission(
        **person_fields(known, phone=known.get("phone") or known.get("mobile")),
        consent=Consent(email=False if opted_out else None),
        answers=answers,
        channel=ANALYTICS_SOURCE_CHANNELS.get(analytics_source or "", Channel.WEB_FORM),
        source_system=SOURCE,
        source_id=contact_id,
        campaign=Campaign(
            utm_source=text(properties.get("utm_source")),
            utm_medium=text(properties.get("utm_medium")),
            utm_campaign=text(properties.get("utm_campaign")),
        ),
        custom_fields=custom,
        submitted_at=from_iso(properties.get("createdate")) or from_iso(contact.get("createdAt")),
    )


def _signed(delivery: Delivery, client_secret: str) -> bool:
    return verify_signature_v3(
        method=delivery.method,
        uri=delivery.uri,
        raw_body=delivery.body,
        timestamp=delivery.header("x-hubspot-request-timestamp"),
        signature=delivery.header("x-hubspot-signature-v3"),
        client_secret=client_secret,
        now=delivery.now,
    )


def _contact(object_id: str) -> NamedLead:
    def read(contact: Any, _: Any) -> LeadSubmission:
        if not isinstance(contact, Mapping):
            raise PayloadError(f"hubspot answered no contact for {object_id}")
        return parse_hubspot(contact)

    path = f"/crm/v3/objects/contacts/{quote(object_id, safe='')}"
    return NamedLead(object_id, VendorCall(path, (("properties", FETCHED_PROPERTIES),)), read)


def _named_leads(payload: Mapping[str, Any]) -> list[NamedLead]:
    events = payload.get("events")
    if not isinstance(events, list):
        raise PayloadError("hubspot delivery has no 'events' list")
    return [_contact(event.object_id) for event in contact_events(events)]


SPEC = Source(
    SOURCE,
    secret=Setting("hubspot_client_secret"),
    authenticity=Authenticity(
        "X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp is missing, malformed, "
        "outside 5 minutes of now, or does not match",
        signed=_signed,
    ),
    parse=parse_hubspot,
    settings=(Setting("hubspot_access_token"), Setting("hubspot_api_url", "https://api.hubapi.com")),
    array_of="events",
    fetching=Fetching(
        api_url="{hubspot_api_url}",
        headers={"Authorization": "Bearer {hubspot_access_token}"},
        needed=lambda payload: "properties" not in payload,
        leads=_named_leads,
    ),
)
