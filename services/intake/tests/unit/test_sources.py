import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from leadflow_intake.domain.normalise import Normalised, normalise
from leadflow_intake.domain.sources import (
    SOURCES,
    ConsentChange,
    Ignored,
    PayloadError,
    activecampaign,
    google_ads,
    hubspot,
    linkedin,
    mailchimp,
    meta,
    parse_payload,
    salesforce_web_to_lead,
    zoom,
)
from leadflow_intake.domain.sources.common import parse_form_body
from leadflow_shared.contracts.lead import Channel, ContactChannel, LeadSubmission

NOW = datetime(2025, 3, 4, 10, 16, tzinfo=UTC)

GOOGLE_LEAD = {
    "lead_id": "TeSter-123-ABCDEFGHIJKLMNOPQRSTUVWXYZ-abcdefghijklmnopqrstuvwxyz",
    "api_version": "1.0",
    "form_id": 123456789012,
    "campaign_id": 20123456789,
    "adgroup_id": 150123456789,
    "creative_id": 690123456789,
    "gcl_id": "EAIaIQobChMI_example",
    "google_key": "s3cr3t-configured-in-form",
    "is_test": False,
    "lead_submit_time": "2025-03-04T10:15:00Z",
    "user_column_data": [
        {"column_name": "Full Name", "string_value": "Dana Kovacs", "column_id": "FULL_NAME"},
        {"column_name": "User Email", "string_value": "dana@acme.example", "column_id": "EMAIL"},
        {"column_name": "User Phone", "string_value": "+14155550123", "column_id": "PHONE_NUMBER"},
        {"column_name": "Company Name", "string_value": "Acme GmbH", "column_id": "COMPANY_NAME"},
        {"column_name": "Country", "string_value": "Germany", "column_id": "COUNTRY"},
        {"column_name": "What is your budget?", "string_value": "10-50k", "column_id": "CUSTOM_1"},
    ],
}

META_NOTIFICATION = {
    "object": "page",
    "entry": [
        {
            "id": "153125381133",
            "time": 1438292065,
            "changes": [
                {
                    "field": "leadgen",
                    "value": {
                        "leadgen_id": 1234567890123456,
                        "page_id": 153125381133,
                        "form_id": "987654321098765",
                        "adgroup_id": "23850000000000001",
                        "ad_id": "23850000000000001",
                        "created_time": 1440120384,
                    },
                }
            ],
        }
    ],
}

META_LEAD = {
    "id": "1234567890123456",
    "created_time": "2025-03-04T10:15:00+0000",
    "ad_id": "23850000000000001",
    "form_id": "987654321098765",
    "platform": "ig",
    "is_organic": False,
    "field_data": [
        {"name": "full_name", "values": ["Dana Kovacs"]},
        {"name": "email", "values": ["dana@acme.example"]},
        {"name": "phone_number", "values": ["+14155550123"]},
        {"name": "company_name", "values": ["Acme GmbH"]},
        {"name": "job_title", "values": ["Head of Ops"]},
        {"name": "country", "values": ["DE"]},
        {"name": "which_product_are_you_interested_in?", "values": ["crm_suite"]},
    ],
    "custom_disclaimer_responses": [{"checkbox_key": "optional_1", "is_checked": "1"}],
}

LINKEDIN_NOTIFICATION = {
    "type": "LEAD_ACTION",
    "leadGenFormResponse": "urn:li:leadGenFormResponse:a9a29e52-c0a3-42e3-8af1-2fc83b697003-4",
    "leadGenForm": "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:1234567,1)",
    "owner": {"sponsoredAccount": "urn:li:sponsoredAccount:508123456"},
    "associatedEntity": {"sponsoredCreative": "urn:li:sponsoredCreative:241257736"},
    "leadType": "SPONSORED",
    "leadAction": "CREATED",
    "occurredAt": 1686182358881,
}

LINKEDIN_RESPONSE = {
    "id": "a9a29e52-c0a3-42e3-8af1-2fc83b697003-4",
    "owner": {"sponsoredAccount": "urn:li:sponsoredAccount:508123456"},
    "submitter": "urn:li:person:AbCdEf123",
    "leadType": "SPONSORED",
    "versionedLeadGenFormUrn": "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:1234567,1)",
    "submittedAt": 1686182358000,
    "testLead": False,
    "leadMetadata": {"sponsoredLeadMetadata": {"campaign": "urn:li:sponsoredCampaign:1234"}},
    "associatedEntity": {"associatedCreative": "urn:li:sponsoredCreative:241257736"},
    "formResponse": {
        "answers": [
            {"questionId": 415148, "answerDetails": {"textQuestionAnswer": {"answer": "Dana"}}},
            {"questionId": 415150, "answerDetails": {"textQuestionAnswer": {"answer": "dana@acme.example"}}},
            {"questionId": 415151, "answerDetails": {"textQuestionAnswer": {"answer": "Kovacs"}}},
            {"questionId": 415160, "answerDetails": {"textQuestionAnswer": {"answer": "Q3 this year"}}},
        ],
        "consentResponses": [{"consentId": 17, "accepted": True}],
    },
}

LINKEDIN_FORM = {
    "id": 1234567,
    "content": {
        "questions": [
            {
                "questionId": 415148,
                "name": "firstName",
                "predefinedField": "FIRST_NAME",
                "question": {"localized": {"en_US": "First name"}},
            },
            {
                "questionId": 415150,
                "name": "email",
                "predefinedField": "EMAIL",
                "question": {"localized": {"en_US": "Email address"}},
            },
            {
                "questionId": 415151,
                "name": "lastName",
                "predefinedField": "LAST_NAME",
                "question": {"localized": {"en_US": "Last name"}},
            },
            {
                "questionId": 415160,
                "name": "timeline",
                "question": {"localized": {"en_US": "When do you plan to buy?"}},
            },
        ]
    },
    "hiddenFields": [{"name": "utm_campaign", "value": "spring-launch"}],
}

MAILCHIMP_SUBSCRIBE = (
    "type=subscribe&fired_at=2025-03-04+10%3A15%3A00&data[id]=8a25ff1d98&data[list_id]=a6b5da1054"
    "&data[email]=dana%40acme.example&data[email_type]=html&data[ip_opt]=198.51.100.7&data[ip_signup]=198.51.100.7"
    "&data[merges][EMAIL]=dana%40acme.example&data[merges][FNAME]=Dana&data[merges][LNAME]=Kovacs"
    "&data[merges][INTERESTS]=Group1%2CGroup2"
)

ACTIVECAMPAIGN_SUBSCRIBE = (
    "type=subscribe&date_time=2025-03-04T05:15:00-05:00&initiated_from=public&initiated_by=public&list=3"
    "&contact[id]=4521&contact[email]=dana%40acme.example&contact[first_name]=Dana&contact[last_name]=Kovacs"
    "&contact[phone]=%2B14155550123&contact[orgname]=Acme+GmbH&contact[ip]=198.51.100.7"
    "&contact[tags]=webinar%2C+trial&contact[fields][job_title]=Head+of+Ops&contact[fields][12]=Germany"
    "&orgname=Acme+GmbH"
)

SALESFORCE_POST = (
    "oid=00D5e000001AbCd&retURL=https%3A%2F%2Fexample.com%2Fthanks&first_name=Dana&last_name=Kovacs"
    "&email=dana%40acme.example&company=Acme+GmbH&title=Head+of+Ops&phone=%2B14155550123&country=Germany"
    "&lead_source=Web&Campaign_ID=7015e000000XyZ1&emailOptOut=0&00N5e00000AbCdE=utm_google_cpc"
)

HUBSPOT_EVENTS = [
    {
        "eventId": 567890123,
        "subscriptionId": 234567,
        "portalId": 12345678,
        "appId": 987654,
        "occurredAt": 1708986598741,
        "subscriptionType": "contact.propertyChange",
        "attemptNumber": 0,
        "objectId": 65059681032,
        "propertyName": "lifecyclestage",
        "propertyValue": "lead",
        "changeSource": "FORM",
        "sourceId": "form:3f2c...",
    },
    {
        "eventId": 567890124,
        "subscriptionId": 234568,
        "portalId": 12345678,
        "appId": 987654,
        "occurredAt": 1708986598741,
        "subscriptionType": "contact.creation",
        "attemptNumber": 0,
        "objectId": 65059681032,
        "changeFlag": "CREATED",
        "changeSource": "CRM_UI",
        "sourceId": "userId:45678",
    },
]

HUBSPOT_CONTACT = {
    "id": "65059681032",
    "properties": {
        "email": "dana@acme.example",
        "firstname": "Dana",
        "lastname": "Kovacs",
        "company": "Acme GmbH",
        "jobtitle": "Head of Ops",
        "phone": "+14155550123",
        "country": "Germany",
        "hs_analytics_source": "PAID_SOCIAL",
        "lifecyclestage": "lead",
        "createdate": "2024-02-26T22:29:58.741Z",
    },
    "createdAt": "2024-02-26T22:29:58.741Z",
}

ZOOM_REGISTRATION = {
    "event": "webinar.registration_created",
    "event_ts": 1741083300000,
    "payload": {
        "account_id": "uS-ca7K2S4iRHBFqVydIfw",
        "object": {
            "uuid": "j6RfoGQHQIiiPKfaozGBOg==",
            "id": 81234567890,
            "host_id": "IoDo0vbMSeyrPME4fgbwxA",
            "topic": "Q2 Product Webinar",
            "type": 5,
            "start_time": "2025-04-10T15:00:00Z",
            "duration": 60,
            "timezone": "Europe/Berlin",
            "registrant": {
                "id": "lR-IYqD9QUe09DlR6IjA9g",
                "first_name": "Dana",
                "last_name": "Kovacs",
                "email": "dana@acme.example",
                "address": "",
                "city": "Berlin",
                "country": "DE",
                "zip": "",
                "state": "",
                "phone": "+4930123456",
                "industry": "Software",
                "org": "Acme GmbH",
                "job_title": "Head of Ops",
                "purchasing_time_frame": "Within a month",
                "role_in_purchase_process": "Decision Maker",
                "no_of_employees": "51-100",
                "comments": "",
                "custom_questions": [{"title": "How did you hear about us?", "value": "LinkedIn"}],
                "status": "approved",
                "join_url": "https://zoom.us/w/81234567890?tk=abc",
            },
        },
    },
}


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def lead(result) -> LeadSubmission:
    assert isinstance(result, LeadSubmission), result
    return result


# Google Ads


def test_a_google_ads_lead_maps_to_a_paid_ads_submission_with_its_ids_as_strings():
    s = google_ads.parse_google_ads(GOOGLE_LEAD)
    assert s.full_name == "Dana Kovacs"
    assert s.email == "dana@acme.example"
    assert s.company == "Acme GmbH"
    assert s.channel is Channel.PAID_ADS
    assert s.source_system == "google_ads"
    assert s.source_id == GOOGLE_LEAD["lead_id"]
    assert s.campaign.campaign_id == "20123456789"
    assert s.campaign.adgroup_id == "150123456789"
    assert s.campaign.ad_id == "690123456789"
    assert s.campaign.form_id == "123456789012"
    assert s.answers.budget == "10-50k"
    assert s.custom_fields["gcl_id"] == "EAIaIQobChMI_example"
    assert s.submitted_at == datetime(2025, 3, 4, 10, 15, tzinfo=UTC)


def test_a_google_ads_lead_normalises_end_to_end():
    result = normalise(google_ads.parse_google_ads(GOOGLE_LEAD), received_at=NOW)
    assert isinstance(result, Normalised)
    assert (result.profile.first_name, result.profile.last_name, result.profile.country) == (
        "Dana",
        "Kovacs",
        "DE",
    )


def test_the_google_test_button_lead_is_flagged_and_its_zero_ids_dropped():
    s = google_ads.parse_google_ads({**GOOGLE_LEAD, "is_test": True, "adgroup_id": 0, "creative_id": 0})
    assert s.is_test is True
    assert s.campaign.adgroup_id is None
    assert s.campaign.ad_id is None


def test_the_google_key_must_match_the_configured_key():
    assert google_ads.verify_google_key(GOOGLE_LEAD, "s3cr3t-configured-in-form")
    assert not google_ads.verify_google_key(GOOGLE_LEAD, "another-secret")
    assert not google_ads.verify_google_key({**GOOGLE_LEAD, "google_key": None}, "s3cr3t-configured-in-form")
    assert not google_ads.verify_google_key(
        {"Google_key": "s3cr3t-configured-in-form"}, "s3cr3t-configured-in-form"
    )


def test_a_google_ads_payload_without_a_lead_id_is_refused():
    with pytest.raises(PayloadError, match="lead_id"):
        google_ads.parse_google_ads({k: v for k, v in GOOGLE_LEAD.items() if k != "lead_id"})


# Meta


def test_meta_notifications_yield_every_leadgen_id_as_a_string():
    refs = meta.lead_refs(META_NOTIFICATION)
    assert [r.leadgen_id for r in refs] == ["1234567890123456"]
    assert refs[0].page_id == "153125381133"


def test_a_meta_lead_object_maps_fields_consent_and_custom_questions():
    s = meta.parse_meta(META_LEAD)
    assert (s.full_name, s.email, s.job_title, s.country) == (
        "Dana Kovacs",
        "dana@acme.example",
        "Head of Ops",
        "DE",
    )
    assert s.source_system == "meta"
    assert s.source_id == "1234567890123456"
    assert s.consent.email is True
    assert s.answers.need == "crm_suite"
    assert s.campaign.ad_id == "23850000000000001"
    assert s.submitted_at == datetime(2025, 3, 4, 10, 15, tzinfo=UTC)


def test_an_unchecked_meta_disclaimer_is_no_consent():
    s = meta.parse_meta(
        {**META_LEAD, "custom_disclaimer_responses": [{"checkbox_key": "optional_1", "is_checked": ""}]}
    )
    assert s.consent.email is False


def test_the_meta_signature_is_checked_over_the_raw_body():
    body = json.dumps(META_NOTIFICATION).encode()
    header = "sha256=" + hmac_hex("app-secret", body)
    assert meta.verify_signature(body, header, "app-secret")
    assert not meta.verify_signature(body.replace(b"153125381133", b"999"), header, "app-secret")
    assert not meta.verify_signature(body, header, "wrong-secret")
    assert not meta.verify_signature(body, None, "app-secret")
    assert not meta.verify_signature(body, hmac_hex("app-secret", body), "app-secret")


def test_the_meta_handshake_echoes_the_challenge_only_for_the_right_token():
    params = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "tok"}
    assert meta.handshake_challenge(params, "tok") == "1158201444"
    assert (
        meta.handshake_challenge(
            {"hub_mode": "subscribe", "hub_challenge": "1", "hub_verify_token": "tok"}, "tok"
        )
        == "1"
    )
    assert meta.handshake_challenge(params, "other") is None
    assert meta.handshake_challenge({**params, "hub.mode": "unsubscribe"}, "tok") is None


# LinkedIn


def test_a_linkedin_notification_names_the_response_to_fetch():
    n = linkedin.lead_notification(LINKEDIN_NOTIFICATION)
    assert n.response_id == "a9a29e52-c0a3-42e3-8af1-2fc83b697003-4"
    assert n.action == "CREATED"


def test_a_linkedin_response_is_mapped_through_the_form_questions():
    s = linkedin.parse_linkedin(LINKEDIN_RESPONSE, LINKEDIN_FORM)
    assert (s.first_name, s.last_name, s.email) == ("Dana", "Kovacs", "dana@acme.example")
    assert s.answers.timeline == "Q3 this year"
    assert s.consent.email is True
    assert s.source_id == LINKEDIN_NOTIFICATION["leadGenFormResponse"]
    assert s.campaign.campaign_id == "urn:li:sponsoredCampaign:1234"
    assert s.campaign.utm_campaign == "spring-launch"
    assert s.channel is Channel.PAID_ADS


def test_a_linkedin_response_without_its_form_still_keeps_the_email():
    s = linkedin.parse_linkedin(LINKEDIN_RESPONSE)
    assert s.email == "dana@acme.example"
    assert s.custom_fields["question_415148"] == "Dana"


def test_the_linkedin_challenge_is_answered_with_the_hmac_of_the_code():
    code = "890e4ac4-6a0a-4a5e-9a6e-3e2c8c8e9b1f"
    assert linkedin.challenge_response(code, "client-secret") == {
        "challengeCode": code,
        "challengeResponse": hmac_hex("client-secret", code.encode()),
    }


def test_the_linkedin_signature_covers_the_prefixed_raw_body():
    body = json.dumps(LINKEDIN_NOTIFICATION).encode()
    good = hmac_hex("client-secret", b"hmacsha256=" + body)
    assert linkedin.verify_signature(body, good, "client-secret")
    assert not linkedin.verify_signature(body, hmac_hex("client-secret", body), "client-secret")
    assert not linkedin.verify_signature(body + b" ", good, "client-secret")


# Mailchimp


def test_a_mailchimp_subscribe_is_a_lead_with_email_consent():
    s = lead(mailchimp.parse_mailchimp(parse_form_body(MAILCHIMP_SUBSCRIBE)))
    assert (s.first_name, s.last_name, s.email) == ("Dana", "Kovacs", "dana@acme.example")
    assert s.consent.email is True
    assert s.custom_fields["interests"] == ["Group1", "Group2"]
    assert s.source_id == "8a25ff1d98:a6b5da1054:subscribe:2025-03-04 10:15:00"
    assert s.submitted_at == datetime(2025, 3, 4, 10, 15, tzinfo=UTC)


def test_a_mailchimp_unsubscribe_is_a_consent_change_not_a_lead():
    body = (
        MAILCHIMP_SUBSCRIBE.replace("type=subscribe", "type=unsubscribe")
        + "&data[action]=unsub&data[reason]=abuse"
    )
    change = mailchimp.parse_mailchimp(parse_form_body(body))
    assert isinstance(change, ConsentChange)
    assert (change.email, change.channel, change.opted_in) == (
        "dana@acme.example",
        ContactChannel.EMAIL,
        False,
    )
    assert "abuse" in change.reason


def test_a_mailchimp_cleaned_address_is_a_consent_change():
    body = (
        "type=cleaned&fired_at=2025-03-04+10%3A15%3A00&data[list_id]=a6b5da1054"
        "&data[campaign_id]=4fjk2ma9xd&data[reason]=hard&data[email]=dana%40acme.example"
    )
    change = mailchimp.parse_mailchimp(parse_form_body(body))
    assert isinstance(change, ConsentChange)
    assert change.reason == "mailchimp cleaned: hard"


def test_a_mailchimp_campaign_event_is_ignored():
    body = (
        "type=campaign&fired_at=2025-03-04+10%3A15%3A00&data[id]=5aa2102003"
        "&data[subject]=Spring&data[status]=sent"
    )
    assert isinstance(mailchimp.parse_mailchimp(parse_form_body(body)), Ignored)


# ActiveCampaign


def test_an_activecampaign_subscribe_maps_contact_fields():
    s = lead(activecampaign.parse_activecampaign(parse_form_body(ACTIVECAMPAIGN_SUBSCRIBE)))
    assert (s.first_name, s.email, s.phone, s.company, s.job_title) == (
        "Dana",
        "dana@acme.example",
        "+14155550123",
        "Acme GmbH",
        "Head of Ops",
    )
    assert s.custom_fields["12"] == "Germany"
    assert s.custom_fields["tags"] == ["webinar", "trial"]
    assert s.source_id == "4521:subscribe:2025-03-04T05:15:00-05:00"
    assert s.submitted_at == datetime(2025, 3, 4, 10, 15, tzinfo=UTC)


def test_an_activecampaign_unsubscribe_is_a_consent_change():
    body = ACTIVECAMPAIGN_SUBSCRIBE.replace("type=subscribe", "type=unsubscribe")
    assert isinstance(activecampaign.parse_activecampaign(parse_form_body(body)), ConsentChange)


def test_an_activecampaign_tag_event_is_ignored():
    body = ACTIVECAMPAIGN_SUBSCRIBE.replace("type=subscribe", "type=contact_tag_added") + "&tag=vip"
    assert isinstance(activecampaign.parse_activecampaign(parse_form_body(body)), Ignored)


# Salesforce Web-to-Lead


def test_a_web_to_lead_post_keeps_its_custom_field_ids_raw_and_drops_the_plumbing():
    s = salesforce_web_to_lead.parse_salesforce_web_to_lead(parse_form_body(SALESFORCE_POST))
    assert (s.first_name, s.last_name, s.company, s.job_title) == (
        "Dana",
        "Kovacs",
        "Acme GmbH",
        "Head of Ops",
    )
    assert s.custom_fields["00N5e00000AbCdE"] == "utm_google_cpc"
    assert s.custom_fields["lead_source"] == "Web"
    assert "oid" not in s.custom_fields
    assert "retURL" not in s.custom_fields
    assert s.campaign.campaign_id == "7015e000000XyZ1"
    assert s.consent.email is None
    assert s.source_id is not None
    assert s.source_id.startswith("sha256:")


def test_a_web_to_lead_email_opt_out_is_an_explicit_no():
    body = SALESFORCE_POST.replace("emailOptOut=0", "emailOptOut=1")
    assert salesforce_web_to_lead.parse_salesforce_web_to_lead(parse_form_body(body)).consent.email is False


def test_the_same_web_to_lead_post_twice_has_the_same_source_id():
    a = salesforce_web_to_lead.parse_salesforce_web_to_lead(
        parse_form_body(SALESFORCE_POST + "&g-recaptcha-response=x")
    )
    b = salesforce_web_to_lead.parse_salesforce_web_to_lead(
        parse_form_body(SALESFORCE_POST + "&g-recaptcha-response=y")
    )
    assert a.source_id == b.source_id


def test_an_empty_web_to_lead_post_is_refused():
    with pytest.raises(PayloadError):
        salesforce_web_to_lead.parse_salesforce_web_to_lead({"oid": "00D5e000001AbCd"})


# HubSpot


def test_hubspot_events_name_the_contacts_to_fetch():
    events = hubspot.contact_events(HUBSPOT_EVENTS)
    assert [(e.event_id, e.object_id) for e in events] == [
        ("567890123", "65059681032"),
        ("567890124", "65059681032"),
    ]


def test_a_fetched_hubspot_contact_maps_to_a_submission():
    s = hubspot.parse_hubspot(HUBSPOT_CONTACT)
    assert (s.first_name, s.email, s.company, s.job_title) == (
        "Dana",
        "dana@acme.example",
        "Acme GmbH",
        "Head of Ops",
    )
    assert s.channel is Channel.PAID_ADS
    assert s.source_id == "65059681032"
    assert s.custom_fields["lifecyclestage"] == "lead"


def hubspot_signature(method: str, uri: str, body: bytes, timestamp: str, secret: str) -> str:
    message = method.encode() + uri.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def test_a_hubspot_v3_signature_within_five_minutes_is_accepted():
    body = json.dumps(HUBSPOT_EVENTS).encode()
    ts = str(int(NOW.timestamp() * 1000))
    uri = "https://leads.example.com/hooks/hubspot?tenant=acme:eu"
    sig = hubspot_signature("POST", uri, body, ts, "client-secret")
    verify = partial(
        hubspot.verify_signature_v3, method="POST", raw_body=body, timestamp=ts, client_secret="client-secret"
    )
    assert verify(uri=uri, signature=sig, now=NOW + timedelta(minutes=4))
    encoded = "https://leads.example.com/hooks/hubspot?tenant=acme%3Aeu"
    assert verify(uri=encoded, signature=sig, now=NOW)


def test_a_stale_or_tampered_hubspot_request_is_refused():
    body = json.dumps(HUBSPOT_EVENTS).encode()
    ts = str(int(NOW.timestamp() * 1000))
    uri = "https://leads.example.com/hooks/hubspot"
    sig = hubspot_signature("POST", uri, body, ts, "client-secret")
    common = {"method": "POST", "uri": uri, "client_secret": "client-secret"}
    assert not hubspot.verify_signature_v3(
        raw_body=body, timestamp=ts, signature=sig, now=NOW + timedelta(minutes=6), **common
    )
    assert not hubspot.verify_signature_v3(
        raw_body=body + b" ", timestamp=ts, signature=sig, now=NOW, **common
    )
    later = str(int(ts) + 1)
    assert not hubspot.verify_signature_v3(raw_body=body, timestamp=later, signature=sig, now=NOW, **common)
    assert not hubspot.verify_signature_v3(raw_body=body, timestamp=None, signature=sig, now=NOW, **common)


# Zoom


def test_a_zoom_registration_is_a_webinar_lead_with_its_qualifying_answers():
    s = lead(zoom.parse_zoom(ZOOM_REGISTRATION))
    assert (s.first_name, s.email, s.company, s.industry) == (
        "Dana",
        "dana@acme.example",
        "Acme GmbH",
        "Software",
    )
    assert s.channel is Channel.WEBINAR
    assert s.source_id == "81234567890:lR-IYqD9QUe09DlR6IjA9g"
    assert s.answers.timeline == "Within a month"
    assert s.answers.authority == "Decision Maker"
    assert s.company_size == 51
    assert s.custom_fields["How did you hear about us?"] == "LinkedIn"
    assert s.campaign.campaign_name == "Q2 Product Webinar"
    assert zoom.activity_of(ZOOM_REGISTRATION) == "webinar_registered"


def test_a_zoom_participant_joining_is_an_attended_webinar_touch():
    joined = {
        "event": "webinar.participant_joined",
        "event_ts": 1744297200000,
        "payload": {
            "object": {
                "id": 81234567890,
                "topic": "Q2 Product Webinar",
                "participant": {
                    "user_name": "Dana Kovacs",
                    "email": "dana@acme.example",
                    "join_time": "2025-04-10T15:01:00Z",
                    "registrant_id": "lR-IYqD9QUe09DlR6IjA9g",
                },
            }
        },
    }
    s = lead(zoom.parse_zoom(joined))
    assert s.full_name == "Dana Kovacs"
    assert s.source_id == "81234567890:lR-IYqD9QUe09DlR6IjA9g:attended"
    assert zoom.activity_of(joined) == "webinar_attended"


def test_a_zoom_cancellation_is_ignored():
    assert isinstance(
        zoom.parse_zoom({**ZOOM_REGISTRATION, "event": "webinar.registration_cancelled"}), Ignored
    )


def test_the_zoom_signature_covers_timestamp_and_raw_body():
    body = json.dumps(ZOOM_REGISTRATION).encode()
    ts = "1741083300"
    sig = "v0=" + hmac_hex("zoom-secret", b"v0:" + ts.encode() + b":" + body)
    assert zoom.verify_signature(body, ts, sig, "zoom-secret", now=NOW)
    assert not zoom.verify_signature(body, "1741083301", sig, "zoom-secret", now=NOW)
    assert not zoom.verify_signature(body.replace(b"Dana", b"Eve"), ts, sig, "zoom-secret", now=NOW)


def test_the_zoom_url_validation_returns_the_encrypted_token():
    challenge = {
        "event": "endpoint.url_validation",
        "event_ts": 1741083300000,
        "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"},
    }
    assert zoom.url_validation_response(challenge, "zoom-secret") == {
        "plainToken": "qgg8vlvZRS6UYooatFL8Aw",
        "encryptedToken": hmac_hex("zoom-secret", b"qgg8vlvZRS6UYooatFL8Aw"),
    }


# Registry


def test_the_registry_names_every_documented_source():
    assert set(SOURCES) == {
        "google_ads",
        "meta",
        "linkedin",
        "mailchimp",
        "activecampaign",
        "salesforce_web_to_lead",
        "hubspot",
        "zoom",
    }
    assert SOURCES["meta"].authenticity.refusal.startswith("X-Hub-Signature-256 ")


def test_parsing_through_the_registry_turns_shape_surprises_into_payload_errors():
    with pytest.raises(PayloadError):
        parse_payload("google_ads", {"lead_id": "x", "user_column_data": ["not-an-object"]})
    with pytest.raises(PayloadError, match="unknown lead source"):
        parse_payload("myspace", {})
    assert isinstance(parse_payload("zoom", ZOOM_REGISTRATION), LeadSubmission)
