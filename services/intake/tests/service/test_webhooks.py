"""Every source's webhook, from its documented payloads: valid, tampered, redelivered, missing data."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

import pytest

from .conftest import SECRETS, Intake, VendorApi

pytestmark = pytest.mark.service


@dataclass
class Delivery:
    """One webhook request as the vendor would send it."""

    body: bytes
    headers: dict[str, str]
    params: dict[str, str] = field(default_factory=dict)
    email: str = ""


def hexmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def as_json(payload: object) -> bytes:
    return json.dumps(payload).encode()


def as_form(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode()


FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}

# --- Google Ads ---


def google_ads(tag: str, *, key: str = SECRETS["google_ads_key"], drop_data: bool = False) -> Delivery:
    email = f"dana.kovacs.{tag}@acme-robotics.example"
    payload: dict[str, object] = {
        "lead_id": f"TeSter-{tag}-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "api_version": "1.0",
        "form_id": 123456789012,
        "campaign_id": 20123456789,
        "adgroup_id": 150123456789,
        "creative_id": 690123456789,
        "gcl_id": "EAIaIQobChMI_example",
        "google_key": key,
        "is_test": True,
        "lead_submit_time": "2025-03-04T10:15:00Z",
        "user_column_data": [
            {"column_name": "Full Name", "string_value": "Dana Kovacs", "column_id": "FULL_NAME"},
            {"column_name": "User Email", "string_value": email, "column_id": "EMAIL"},
            {"column_name": "User Phone", "string_value": phone(tag), "column_id": "PHONE_NUMBER"},
            {
                "column_name": "Company Name",
                "string_value": "Acme Robotics GmbH",
                "column_id": "COMPANY_NAME",
            },
            {"column_name": "Country", "string_value": "Germany", "column_id": "COUNTRY"},
        ],
    }
    if drop_data:
        del payload["user_column_data"]
    return Delivery(as_json(payload), dict(JSON), email=email)


# --- Meta ---


def meta_signed(payload: object, secret: str = SECRETS["meta_app_secret"]) -> Delivery:
    body = as_json(payload)
    return Delivery(body, {**JSON, "X-Hub-Signature-256": "sha256=" + hexmac(secret, body)})


def meta(tag: str, vendor: VendorApi, *, drop_data: bool = False) -> Delivery:
    leadgen_id = str(int(uuid.UUID(int=int(tag, 16)).int % 10**15) + 10**15)
    email = f"noor.haddad.{tag}@sunline-solar.example"
    vendor.routes[f"/meta/{leadgen_id}"] = (
        200,
        {
            "id": leadgen_id,
            "created_time": "2025-03-04T10:15:00+0000",
            "ad_id": "23850000000000001",
            "form_id": "987654321098765",
            "platform": "ig",
            "is_organic": False,
            "field_data": [
                {"name": "full_name", "values": ["Noor Haddad"]},
                {"name": "email", "values": [email]},
                {"name": "company_name", "values": ["Sunline Solar"]},
                {"name": "job_title", "values": ["Head of Ops"]},
                {"name": "country", "values": ["DE"]},
                {"name": "which_product_are_you_interested_in?", "values": ["crm_suite"]},
            ],
            "custom_disclaimer_responses": [{"checkbox_key": "optional_1", "is_checked": "1"}],
        },
    )
    value: dict[str, object] = {
        "page_id": "153125381133",
        "form_id": "987654321098765",
        "created_time": 1440120384,
    }
    if not drop_data:
        value["leadgen_id"] = leadgen_id
    delivery = meta_signed(
        {
            "object": "page",
            "entry": [
                {"id": "153125381133", "time": 1438292065, "changes": [{"field": "leadgen", "value": value}]}
            ],
        }
    )
    delivery.email = email
    return delivery


# --- LinkedIn ---

LI_FORM_URN = "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:1234567,1)"


def linkedin(tag: str, vendor: VendorApi, *, drop_data: bool = False) -> Delivery:
    response_id = f"a9a29e52-c0a3-42e3-8af1-{tag}-4"
    email = f"mateo.rossi.{tag}@vialattea-logistics.example"
    vendor.routes[f"/linkedin/leadFormResponses/{quote(response_id, safe='')}"] = (
        200,
        {
            "id": response_id,
            "owner": {"sponsoredAccount": "urn:li:sponsoredAccount:508123456"},
            "submitter": "urn:li:person:AbCdEf123",
            "leadType": "SPONSORED",
            "versionedLeadGenFormUrn": LI_FORM_URN,
            "submittedAt": 1686182358000,
            "testLead": False,
            "leadMetadata": {"sponsoredLeadMetadata": {"campaign": "urn:li:sponsoredCampaign:1234"}},
            "formResponse": {
                "answers": [
                    {"questionId": 415148, "answerDetails": {"textQuestionAnswer": {"answer": "Mateo"}}},
                    {"questionId": 415149, "answerDetails": {"textQuestionAnswer": {"answer": "Rossi"}}},
                    {"questionId": 415150, "answerDetails": {"textQuestionAnswer": {"answer": email}}},
                    {
                        "questionId": 415151,
                        "answerDetails": {"textQuestionAnswer": {"answer": "Via Lattea Logistics"}},
                    },
                ],
                "consentResponses": [{"consentId": 17, "accepted": True}],
            },
        },
    )
    vendor.routes[f"/linkedin/leadForms/{quote(LI_FORM_URN, safe='')}"] = (
        200,
        {
            "content": {
                "questions": [
                    {"questionId": 415148, "name": "firstName", "predefinedField": "FIRST_NAME"},
                    {"questionId": 415149, "name": "lastName", "predefinedField": "LAST_NAME"},
                    {"questionId": 415150, "name": "email", "predefinedField": "EMAIL"},
                    {"questionId": 415151, "name": "company", "predefinedField": "COMPANY_NAME"},
                ]
            }
        },
    )
    payload: dict[str, object] = {
        "type": "LEAD_ACTION",
        "leadGenForm": LI_FORM_URN,
        "owner": {"sponsoredAccount": "urn:li:sponsoredAccount:508123456"},
        "leadType": "SPONSORED",
        "leadAction": "CREATED",
        "occurredAt": 1686182358881,
    }
    if not drop_data:
        payload["leadGenFormResponse"] = f"urn:li:leadGenFormResponse:{response_id}"
    body = as_json(payload)
    signature = hexmac(SECRETS["linkedin_client_secret"], b"hmacsha256=" + body)
    return Delivery(body, {**JSON, "X-LI-Signature": signature}, email=email)


# --- Mailchimp, ActiveCampaign, Salesforce Web-to-Lead ---


def mailchimp(tag: str, *, drop_data: bool = False) -> Delivery:
    email = f"ines.moreau.{tag}@atelier-verde.example"
    fields = {
        "type": "subscribe",
        "fired_at": "2025-03-04 10:15:00",
        "data[id]": f"8a25ff{tag}",
        "data[list_id]": "a6b5da1054",
        "data[email]": email,
        "data[email_type]": "html",
        "data[merges][EMAIL]": email,
        "data[merges][FNAME]": "Ines",
        "data[merges][LNAME]": "Moreau",
        "data[merges][COMPANY]": "Atelier Verde",
        "data[merges][INTERESTS]": "Group1,Group2",
    }
    if drop_data:
        del fields["data[email]"], fields["data[merges][EMAIL]"]
    return Delivery(as_form(fields), dict(FORM), {"secret": SECRETS["mailchimp_secret"]}, email)


def activecampaign(tag: str, *, drop_data: bool = False) -> Delivery:
    email = f"olu.adeyemi.{tag}@lagos-fintech.example"
    fields = {
        "type": "subscribe",
        "date_time": "2025-03-04T05:15:00-05:00",
        "initiated_from": "public",
        "initiated_by": "public",
        "list": "3",
        "contact[id]": f"45{tag}",
        "contact[email]": email,
        "contact[first_name]": "Olu",
        "contact[last_name]": "Adeyemi",
        "contact[phone]": phone(tag),
        "contact[orgname]": "Lagos Fintech Ltd",
        "contact[tags]": "webinar, trial",
        "contact[fields][job_title]": "CTO",
    }
    if drop_data:
        del fields["contact[email]"], fields["contact[phone]"]
    return Delivery(as_form(fields), dict(FORM), {"secret": SECRETS["activecampaign_secret"]}, email)


def salesforce(tag: str, *, drop_data: bool = False) -> Delivery:
    email = f"hana.sato.{tag}@kyoto-instruments.example"
    fields = {
        "oid": "00D5e000001AbCd",
        "retURL": "https://example.com/thanks",
        "first_name": "Hana",
        "last_name": "Sato",
        "email": email,
        "company": "Kyoto Instruments KK",
        "title": "VP Engineering",
        "phone": phone(tag),
        "country": "Japan",
        "lead_source": "Web",
        "Campaign_ID": "7015e000000XyZ1",
        "emailOptOut": "0",
        "00N5e00000AbCdE": "utm_google_cpc",
    }
    if drop_data:
        fields = {k: v for k, v in fields.items() if k in ("oid", "retURL", "first_name", "title")}
    return Delivery(
        as_form(fields), {**FORM, "X-Leadflow-Secret": SECRETS["salesforce_web_to_lead_secret"]}, email=email
    )


# --- HubSpot ---


def hubspot(tag: str, vendor: VendorApi, *, drop_data: bool = False, age_ms: int = 0) -> Delivery:
    object_id = str(65059681032 + int(tag, 16))
    email = f"lars.nilsson.{tag}@fjord-analytics.example"
    vendor.routes[f"/hubspot/crm/v3/objects/contacts/{object_id}"] = (
        200,
        {
            "id": object_id,
            "properties": {
                "email": email,
                "firstname": "Lars",
                "lastname": "Nilsson",
                "company": "Fjord Analytics AB",
                "jobtitle": "Director of Data",
                "country": "Sweden",
                "hs_analytics_source": "PAID_SEARCH",
                "createdate": "2025-03-04T10:15:00Z",
            },
        },
    )
    event: dict[str, object] = {
        "eventId": 567890124 + int(tag, 16),
        "subscriptionId": 234568,
        "portalId": 12345678,
        "occurredAt": 1708986598741,
        "subscriptionType": "contact.creation",
        "attemptNumber": 0,
        "changeFlag": "CREATED",
    }
    if not drop_data:
        event["objectId"] = int(object_id)
    body = as_json([event])
    timestamp = str(int(time.time() * 1000) - age_ms)
    message = b"POST" + b"http://intake.test/v1/webhooks/hubspot" + body + timestamp.encode()
    signature = base64.b64encode(
        hmac.new(SECRETS["hubspot_client_secret"].encode(), message, hashlib.sha256).digest()
    ).decode()
    headers = {**JSON, "X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": timestamp}
    return Delivery(body, headers, email=email)


# --- Zoom ---


def zoom_signed(payload: object) -> Delivery:
    body = as_json(payload)
    timestamp = str(int(time.time()))
    signature = "v0=" + hexmac(SECRETS["zoom_secret_token"], f"v0:{timestamp}:".encode() + body)
    return Delivery(body, {**JSON, "x-zm-request-timestamp": timestamp, "x-zm-signature": signature})


def zoom(tag: str, *, drop_data: bool = False) -> Delivery:
    email = f"priya.raman.{tag}@bangalore-biotech.example"
    registrant: dict[str, object] = {
        "id": f"lR-IYqD9QUe09DlR6IjA9g-{tag}",
        "first_name": "Priya",
        "last_name": "Raman",
        "email": email,
        "country": "IN",
        "phone": phone(tag),
        "industry": "Biotech",
        "org": "Bangalore Biotech Pvt Ltd",
        "job_title": "Head of Research",
        "purchasing_time_frame": "Within a month",
        "role_in_purchase_process": "Decision Maker",
        "no_of_employees": "51-100",
        "custom_questions": [{"title": "How did you hear about us?", "value": "LinkedIn"}],
        "status": "approved",
    }
    if drop_data:
        del registrant["id"]
    delivery = zoom_signed(
        {
            "event": "webinar.registration_created",
            "event_ts": 1741083300000,
            "payload": {
                "account_id": "uS-ca7K2S4iRHBFqVydIfw",
                "object": {
                    "uuid": "j6RfoGQHQIiiPKfaozGBOg==",
                    "id": 81234567890,
                    "topic": "Q2 Product Webinar",
                    "start_time": "2025-04-10T15:00:00Z",
                    "registrant": registrant,
                },
            },
        }
    )
    delivery.email = email
    return delivery


def tamper(delivery: Delivery) -> Delivery:
    """The same delivery with one byte of the body changed after signing (or the wrong secret)."""
    body = delivery.body.replace(SECRETS["google_ads_key"].encode(), b"forged-google-key")
    if body == delivery.body:
        body = delivery.body.replace(b"a", b"b", 1)
    params = {k: v + "x" for k, v in delivery.params.items()}
    headers = {k: (v + "x" if k == "X-Leadflow-Secret" else v) for k, v in delivery.headers.items()}
    return Delivery(body, headers, params, delivery.email)


Builder = Callable[[str, VendorApi, bool], Delivery]
CASES: dict[str, tuple[Builder, str, str]] = {
    # url name: (builder, source system stored on touches, what the missing-data rejection says)
    "google-ads": (lambda t, v, d: google_ads(t, drop_data=d), "google_ads", "user_column_data"),
    "meta": (lambda t, v, d: meta(t, v, drop_data=d), "meta", "leadgen_id"),
    "linkedin": (lambda t, v, d: linkedin(t, v, drop_data=d), "linkedin", "leadGenFormResponse"),
    "mailchimp": (lambda t, v, d: mailchimp(t, drop_data=d), "mailchimp", "data[email]"),
    "activecampaign": (lambda t, v, d: activecampaign(t, drop_data=d), "activecampaign", "contact[email]"),
    "salesforce-web-to-lead": (lambda t, v, d: salesforce(t, drop_data=d), "salesforce_web_to_lead", "email"),
    "hubspot": (lambda t, v, d: hubspot(t, v, drop_data=d), "hubspot", "objectId"),
    "zoom": (lambda t, v, d: zoom(t, drop_data=d), "zoom", "id"),
}


async def post(intake: Intake, source: str, delivery: Delivery) -> int:
    response = await intake.client.post(
        f"/v1/webhooks/{source}", content=delivery.body, headers=delivery.headers, params=delivery.params
    )
    return response.status_code


async def leads_with_email(intake: Intake, email: str) -> list[dict[str, object]]:
    response = await intake.client.get("/v1/leads", params={"email": email}, headers=intake.auth("read"))
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


def new_tag() -> str:
    return uuid.uuid4().hex[:8]


def phone(tag: str) -> str:
    """A valid German mobile number of its own per test, so phones never join unrelated leads."""
    return f"+49151{int(tag, 16) % 10**8:08d}"


@pytest.mark.parametrize("source", list(CASES))
async def test_a_genuine_delivery_becomes_one_lead_with_its_touch(intake: Intake, source: str) -> None:
    build, system, _ = CASES[source]
    delivery = build(new_tag(), intake.vendor, False)
    assert await post(intake, source, delivery) in (200, 202)
    events = await intake.drain()
    leads = await leads_with_email(intake, delivery.email)
    assert len(leads) == 1
    lead = (await intake.client.get(f"/v1/leads/{leads[0]['id']}", headers=intake.auth("read"))).json()
    assert [t["source_system"] for t in lead["touches"]] == [system]
    assert any(e.type == "lead.captured" and e.subject == str(leads[0]["id"]) for e in events)


@pytest.mark.parametrize("source", list(CASES))
async def test_a_tampered_delivery_is_refused_with_401_and_stores_nothing(
    intake: Intake, source: str
) -> None:
    build, _, _ = CASES[source]
    delivery = tamper(build(new_tag(), intake.vendor, False))
    assert await post(intake, source, delivery) == 401
    await intake.drain()
    assert await leads_with_email(intake, delivery.email) == []


@pytest.mark.parametrize("source", list(CASES))
async def test_a_redelivered_webhook_is_accepted_and_ignored(intake: Intake, source: str) -> None:
    build, _, _ = CASES[source]
    delivery = build(new_tag(), intake.vendor, False)
    assert await post(intake, source, delivery) in (200, 202)
    assert await post(intake, source, delivery) in (200, 202)
    events = await intake.drain(redeliver=True)
    leads = await leads_with_email(intake, delivery.email)
    assert len(leads) == 1
    lead = (await intake.client.get(f"/v1/leads/{leads[0]['id']}", headers=intake.auth("read"))).json()
    assert len(lead["touches"]) == 1
    assert sum(e.type == "lead.captured" for e in events) == 1
    assert not any(e.type == "lead.updated" for e in events)


@pytest.mark.parametrize("source", list(CASES))
async def test_a_delivery_missing_required_data_is_quarantined_with_its_reason(
    intake: Intake, source: str
) -> None:
    build, system, missing = CASES[source]
    delivery = build(new_tag(), intake.vendor, True)
    assert await post(intake, source, delivery) in (200, 202)
    async with intake.pool.acquire() as conn:
        before = await conn.fetchval("SELECT count(*) FROM rejections WHERE source_system = $1", system)
    await intake.drain()
    async with intake.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT reason FROM rejections WHERE source_system = $1 ORDER BY received_at DESC", system
        )
    assert len(rows) == before + 1
    assert missing in rows[0]["reason"]
    response = await intake.client.get("/v1/rejections", params={"limit": 500}, headers=intake.auth("read"))
    assert any(item["reason"] == rows[0]["reason"] for item in response.json()["items"])
