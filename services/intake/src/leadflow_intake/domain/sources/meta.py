"""Meta (Facebook/Instagram) Lead Ads: a signed notification with ids, then the Graph API lead object."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from leadflow_shared.contracts.lead import Campaign, Channel, Consent, ContactChannel, LeadSubmission

from .common import (
    PayloadError,
    answers_from,
    as_mapping,
    from_iso,
    from_unix,
    id_text,
    person_fields,
    require,
    secrets_match,
    text,
    truthy,
)
from .spec import (
    Fetching,
    Handshake,
    HandshakeRefused,
    NamedLead,
    Setting,
    Source,
    VendorCall,
    hex_hmac_header,
    verify_hex_hmac,
)

SOURCE = "meta"
SIGNATURE_PREFIX = "sha256="
LEAD_FIELDS = (
    "id,created_time,ad_id,adset_id,campaign_id,campaign_name,form_id,is_organic,platform,"
    "field_data,custom_disclaimer_responses"
)

# Standard field_data names -> canonical submission fields.
FIELD_NAMES: dict[str, str] = {
    "full_name": "full_name",
    "first_name": "first_name",
    "last_name": "last_name",
    "email": "email",
    "work_email": "email",
    "phone_number": "phone",
    "work_phone_number": "phone",
    "company_name": "company",
    "job_title": "job_title",
    "country": "country",
    "website": "website",
    "company_size": "company_size",
    "industry": "industry",
}


@dataclass(frozen=True)
class MetaLeadRef:
    """One lead announced by a leadgen notification; fetch it from the Graph API by leadgen_id."""

    leadgen_id: str
    page_id: str | None
    form_id: str | None
    ad_id: str | None
    adgroup_id: str | None
    created_time: int | None


def verify_signature(raw_body: bytes, signature_header: str | None, app_secret: str) -> bool:
    """Check X-Hub-Signature-256 ("sha256=<hex>") against the HMAC of the raw body bytes."""
    return verify_hex_hmac(raw_body, signature_header, app_secret, SIGNATURE_PREFIX)


def handshake_challenge(params: Mapping[str, str], verify_token: str) -> str | None:
    """The hub.challenge to echo back when the subscription GET is genuine, else None."""

    def param(name: str) -> str | None:
        return params.get(name) or params.get(name.replace(".", "_"))

    if param("hub.mode") != "subscribe" or not secrets_match(param("hub.verify_token"), verify_token):
        return None
    return param("hub.challenge")


def lead_refs(notification: Mapping[str, Any]) -> list[MetaLeadRef]:
    """Every leadgen id in a (possibly batched) webhook notification; ids as strings."""
    refs: list[MetaLeadRef] = []
    entries = notification.get("entry")
    if not isinstance(entries, list):
        raise PayloadError("meta notification has no 'entry' list")
    for entry in entries:
        for change in as_mapping(entry, "entry").get("changes") or []:
            change_map = as_mapping(change, "change")
            if change_map.get("field") != "leadgen":
                continue
            value = as_mapping(change_map.get("value"), "change value")
            leadgen_id = id_text(value.get("leadgen_id"))
            if leadgen_id is None:
                raise PayloadError("meta leadgen change has no 'leadgen_id'")
            created = value.get("created_time")
            refs.append(
                MetaLeadRef(
                    leadgen_id=leadgen_id,
                    page_id=id_text(value.get("page_id")),
                    form_id=id_text(value.get("form_id")),
                    ad_id=id_text(value.get("ad_id")),
                    adgroup_id=id_text(value.get("adgroup_id")),
                    created_time=created if isinstance(created, int) else None,
                )
            )
    return refs


def parse_meta(
    lead: Mapping[str, Any], *, consent_keys: Mapping[str, ContactChannel] | None = None
) -> LeadSubmission:
    """Map a Graph API lead object (field_data, custom_disclaimer_responses) to a submission.

    consent_keys says which disclaimer checkbox grants which channel; without it every checkbox is email.
    """
    lead_id = id_text(require(lead, "id", SOURCE))
    field_data = lead.get("field_data")
    if not isinstance(field_data, list):
        raise PayloadError("meta lead has no 'field_data' list")
    known: dict[str, str] = {}
    other: dict[str, str] = {}
    for item in field_data:
        entry = as_mapping(item, "field_data item")
        name = text(entry.get("name"))
        values = entry.get("values")
        if name is None or not isinstance(values, list):
            continue
        value = ", ".join(v for v in (text(x) for x in values) if v)
        if not value:
            continue
        target = FIELD_NAMES.get(name.lower())
        if target is not None:
            known.setdefault(target, value)
        else:
            other[name] = value
    answers, custom = answers_from(other)

    consent_flags: dict[ContactChannel, bool] = {}
    disclaimers: dict[str, bool] = {}
    for item in lead.get("custom_disclaimer_responses") or []:
        response = as_mapping(item, "custom_disclaimer_responses item")
        key = text(response.get("checkbox_key"))
        if key is None:
            continue
        checked = truthy(response.get("is_checked")) is True
        disclaimers[key] = checked
        channel = consent_keys.get(key) if consent_keys is not None else ContactChannel.EMAIL
        if channel is not None:
            consent_flags[channel] = consent_flags.get(channel, False) or checked
    if disclaimers:
        custom["meta_disclaimers"] = disclaimers
    for key in ("platform", "is_organic"):
        if key in lead:
            custom[f"meta_{key}"] = lead[key]

    created = lead.get("created_time")
    submitted_at = from_unix(created) if isinstance(created, int) else from_iso(created)
    return LeadSubmission(
        **person_fields(known),
        consent=Consent(
            email=consent_flags.get(ContactChannel.EMAIL),
            phone=consent_flags.get(ContactChannel.PHONE),
            sms=consent_flags.get(ContactChannel.SMS),
        ),
        answers=answers,
        channel=Channel.PAID_ADS if lead.get("is_organic") is not True else Channel.SOCIAL,
        source_system=SOURCE,
        source_id=lead_id,
        campaign=Campaign(
            campaign_id=id_text(lead.get("campaign_id")),
            campaign_name=text(lead.get("campaign_name")),
            adgroup_id=id_text(lead.get("adset_id")),
            ad_id=id_text(lead.get("ad_id")),
            form_id=id_text(lead.get("form_id")),
        ),
        custom_fields=custom,
        is_test=lead.get("is_test") is True,
        submitted_at=submitted_at,
    )


def _handshake(params: Mapping[str, str], verify_token: str) -> str:
    challenge = handshake_challenge(params, verify_token)
    if challenge is None:
        raise HandshakeRefused("hub.mode or hub.verify_token does not match")
    return challenge


def _named_lead(ref: MetaLeadRef) -> NamedLead:
    def read(lead: Any, _: Any) -> LeadSubmission:
        if not isinstance(lead, Mapping):
            raise PayloadError(f"meta Graph API answered no lead object for {ref.leadgen_id}")
        submission = parse_meta(lead)
        # The notification knows the ad and form even when the fetched object omits them.
        campaign = submission.campaign.model_copy(
            update={
                "ad_id": submission.campaign.ad_id or ref.ad_id,
                "adgroup_id": submission.campaign.adgroup_id or ref.adgroup_id,
                "form_id": submission.campaign.form_id or ref.form_id,
            }
        )
        return submission.model_copy(update={"campaign": campaign})

    call = VendorCall(f"/{quote(ref.leadgen_id, safe='')}", (("fields", LEAD_FIELDS),))
    return NamedLead(ref.leadgen_id, call, read)


SPEC = Source(
    SOURCE,
    secret=Setting("meta_app_secret"),
    authenticity=hex_hmac_header("X-Hub-Signature-256", SIGNATURE_PREFIX),
    parse=parse_meta,
    settings=(
        Setting("meta_verify_token", chosen=True),
        Setting("meta_access_token"),
        Setting("meta_graph_url", "https://graph.facebook.com/v21.0"),
    ),
    handshake=Handshake(_handshake, secret="meta_verify_token"),
    fetching=Fetching(
        api_url="{meta_graph_url}",
        headers={"Authorization": "Bearer {meta_access_token}"},
        needed=lambda payload: "field_data" not in payload,
        leads=lambda payload: [_named_lead(ref) for ref in lead_refs(payload)],
    ),
)
