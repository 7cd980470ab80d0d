"""LinkedIn Lead Sync: a notification with the response URN, then the form response mapped by question."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from leadflow_shared.contracts.lead import Campaign, Channel, Consent, LeadSubmission

from .common import (
    PayloadError,
    answers_from,
    as_mapping,
    from_unix_ms,
    hmac_sha256,
    person_fields,
    require,
    secrets_match,
    text,
)
from .spec import Authenticity, Fetching, Handshake, NamedLead, Setting, Source, VendorCall

SOURCE = "linkedin"
RESPONSE_URN_PREFIX = "urn:li:leadGenFormResponse:"
_EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# The challenge reply is HMAC(client secret, code) and a POST signature is HMAC(client secret,
# "hmacsha256=" + body): answering any code would sign any body an attacker asks for.
CHALLENGE_CODE = re.compile(r"[A-Za-z0-9-]{8,64}")

# predefinedField of a form question -> canonical submission field.
PREDEFINED_FIELDS: dict[str, str] = {
    "FIRST_NAME": "first_name",
    "LAST_NAME": "last_name",
    "FULL_NAME": "full_name",
    "EMAIL": "email",
    "WORK_EMAIL": "email",
    "PHONE_NUMBER": "phone",
    "WORK_PHONE_NUMBER": "phone",
    "MOBILE_PHONE_NUMBER": "phone",
    "COMPANY_NAME": "company",
    "COMPANY_WEBSITE": "website",
    "JOB_TITLE": "job_title",
    "COUNTRY": "country",
    "INDUSTRY": "industry",
    "COMPANY_SIZE": "company_size",
}

LEAD_TYPE_CHANNELS: dict[str, Channel] = {
    "SPONSORED": Channel.PAID_ADS,
    "EVENT": Channel.WEBINAR,
    "COMPANY": Channel.SOCIAL,
    "ORGANIZATION_PRODUCT": Channel.SOCIAL,
}


@dataclass(frozen=True)
class FormQuestion:
    """One question of a lead gen form: how to read its answers."""

    question_id: str
    name: str | None
    label: str | None
    predefined_field: str | None
    options: Mapping[str, str]


@dataclass(frozen=True)
class LeadNotification:
    """A Lead Sync notification: which form response to fetch, or erase when the action is DELETED."""

    response_urn: str
    response_id: str
    action: str
    lead_type: str | None
    form_urn: str | None
    occurred_at: datetime | None


def is_challenge_code(code: str) -> bool:
    """Whether a challengeCode has LinkedIn's shape (a UUID: letters, digits and dashes, 8 to 64)."""
    return CHALLENGE_CODE.fullmatch(code) is not None


def challenge_response(challenge_code: str, client_secret: str) -> dict[str, str]:
    """The JSON reply to LinkedIn's GET ?challengeCode= validation; a code of another shape is refused."""
    if not is_challenge_code(challenge_code):
        raise PayloadError("challengeCode must be 8 to 64 letters, digits or dashes (LinkedIn sends a UUID)")
    digest = hmac_sha256(client_secret, challenge_code.encode()).hex()
    return {"challengeCode": challenge_code, "challengeResponse": digest}


def verify_signature(raw_body: bytes, signature_header: str | None, client_secret: str) -> bool:
    """Check X-LI-Signature: hex HMAC-SHA256 of "hmacsha256=" + raw body under the client secret."""
    if not signature_header or not client_secret:
        return False
    given = signature_header.strip().lower()
    given = given.removeprefix("hmacsha256=")
    expected = hmac_sha256(client_secret, b"hmacsha256=" + raw_body).hex()
    return secrets_match(given, expected)


def is_deletion(payload: Mapping[str, Any]) -> bool:
    """Whether a notification says a member deleted their form response (LinkedIn's erasure request)."""
    action = payload.get("leadAction")
    return isinstance(action, str) and action.strip().upper() == "DELETED"


def lead_notification(payload: Mapping[str, Any]) -> LeadNotification:
    """Read a LEAD_ACTION notification; raises PayloadError when the response URN is missing."""
    urn = text(require(payload, "leadGenFormResponse", SOURCE))
    if urn is None or not urn.startswith(RESPONSE_URN_PREFIX):
        raise PayloadError(f"linkedin leadGenFormResponse {urn!r} is not a {RESPONSE_URN_PREFIX} URN")
    return LeadNotification(
        response_urn=urn,
        response_id=urn[len(RESPONSE_URN_PREFIX) :],
        action=text(payload.get("leadAction")) or "CREATED",
        lead_type=text(payload.get("leadType")),
        form_urn=text(payload.get("leadGenForm")),
        occurred_at=from_unix_ms(payload.get("occurredAt")),
    )


def _localized(value: Any) -> str | None:
    if isinstance(value, Mapping):
        localized = value.get("localized")
        if isinstance(localized, Mapping):
            return next((t for t in (text(v) for v in localized.values()) if t), None)
        return text(value.get("text"))
    return text(value)


def form_questions(form: Mapping[str, Any]) -> dict[str, FormQuestion]:
    """The questions of a lead form (content.questions), keyed by questionId as text."""
    content = form.get("content")
    raw = (content if isinstance(content, Mapping) else form).get("questions") or []
    questions: dict[str, FormQuestion] = {}
    for item in raw:
        q = as_mapping(item, "form question")
        qid = text(q.get("questionId"))
        if qid is None:
            continue
        options: dict[str, str] = {}
        details = q.get("questionDetails")
        if isinstance(details, Mapping):
            mc = details.get("multipleChoiceQuestionDetails")
            if isinstance(mc, Mapping):
                for opt in mc.get("options") or []:
                    if isinstance(opt, Mapping) and text(opt.get("id")):
                        options[str(text(opt.get("id")))] = _localized(opt.get("text")) or str(opt.get("id"))
        questions[qid] = FormQuestion(
            question_id=qid,
            name=text(q.get("name")),
            label=_localized(q.get("question")),
            predefined_field=text(q.get("predefinedField")),
            options=options,
        )
    return questions


def _answer_text(details: Any, question: FormQuestion | None) -> str | None:
    if not isinstance(details, Mapping):
        return None
    text_answer = details.get("textQuestionAnswer")
    if isinstance(text_answer, Mapping):
        return text(text_answer.get("answer"))
    choice = details.get("multipleChoiceAnswer")
    if isinstance(choice, Mapping):
        picked = [text(o) for o in choice.get("options") or []]
        labels = [(question.options.get(p, p) if question else p) for p in picked if p]
        return ", ".join(labels) or None
    return None


def _hidden_fields(*sources: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for source in sources:
        if not isinstance(source, Mapping):
            continue
        for item in source.get("hiddenFields") or []:
            if isinstance(item, Mapping) and text(item.get("name")) and text(item.get("value")):
                found[str(text(item.get("name")))] = str(text(item.get("value")))
    return found


def parse_linkedin(response: Mapping[str, Any], form: Mapping[str, Any] | None = None) -> LeadSubmission:
    """Map a leadFormResponses object to a submission, reading answers through the form's questions.

    The form may be passed separately or embedded in the response under "form" (a projection).
    """
    response_id = text(require(response, "id", SOURCE))
    form = (
        form
        if form is not None
        else response.get("form")
        if isinstance(response.get("form"), Mapping)
        else None
    )
    questions = form_questions(form) if form is not None else {}
    form_response = as_mapping(require(response, "formResponse", SOURCE), "formResponse")

    known: dict[str, str] = {}
    other: dict[str, str] = {}
    for item in form_response.get("answers") or []:
        answer = as_mapping(item, "answer")
        qid = text(answer.get("questionId")) or ""
        question = questions.get(qid)
        value = _answer_text(answer.get("answerDetails"), question)
        if value is None:
            continue
        target = PREDEFINED_FIELDS.get(question.predefined_field or "") if question else None
        if target is not None:
            known.setdefault(target, value)
        else:
            label = (question.label or question.name) if question else None
            other[label or f"question_{qid}"] = value
    if not questions and "email" not in known:
        # Without the form we can still recognise the address, so the lead is not lost.
        for key, value in list(other.items()):
            if _EMAIL_SHAPE.fullmatch(value):
                known["email"] = other.pop(key)
                break
    answers, custom = answers_from(other)

    consents = [c for c in form_response.get("consentResponses") or [] if isinstance(c, Mapping)]
    accepted = [c.get("accepted") for c in consents if isinstance(c.get("accepted"), bool)]
    email_consent = any(accepted) if accepted else None
    if consents:
        custom["linkedin_consents"] = {str(c.get("consentId")): c.get("accepted") for c in consents}

    hidden = _hidden_fields(form, response, form_response)
    for key, value in hidden.items():
        if not key.startswith("utm_"):
            custom[key] = value
    metadata = response.get("leadMetadata")
    sponsored = metadata.get("sponsoredLeadMetadata") if isinstance(metadata, Mapping) else None
    entity = response.get("associatedEntity")
    creative = None
    if isinstance(entity, Mapping):
        creative = text(entity.get("associatedCreative")) or text(entity.get("sponsoredCreative"))
    submitter = text(response.get("submitter"))
    if submitter:
        custom["linkedin_submitter"] = submitter

    return LeadSubmission(
        **person_fields(known),
        consent=Consent(email=email_consent),
        answers=answers,
        channel=LEAD_TYPE_CHANNELS.get(text(response.get("leadType")) or "", Channel.SOCIAL),
        source_system=SOURCE,
        source_id=RESPONSE_URN_PREFIX + str(response_id),
        campaign=Campaign(
            utm_source=hidden.get("utm_source"),
            utm_medium=hidden.get("utm_medium"),
            utm_campaign=hidden.get("utm_campaign"),
            utm_term=hidden.get("utm_term"),
            utm_content=hidden.get("utm_content"),
            campaign_id=text(sponsored.get("campaign")) if isinstance(sponsored, Mapping) else None,
            ad_id=creative,
            form_id=text(response.get("versionedLeadGenFormUrn")),
        ),
        custom_fields=custom,
        is_test=response.get("testLead") is True,
        submitted_at=from_unix_ms(response.get("submittedAt")),
    )


def _handshake(params: Mapping[str, str], client_secret: str) -> dict[str, str]:
    code = params.get("challengeCode")
    if not code:
        raise PayloadError("query parameter 'challengeCode' is missing")
    return challenge_response(code, client_secret)


def form_to_fetch(response: Any, noted_form: str | None) -> str | None:
    """The form URN to fetch a response's questions from, when the response does not embed them."""
    if not isinstance(response, Mapping) or isinstance(response.get("form"), Mapping):
        return None
    form_urn = response.get("versionedLeadGenFormUrn") or noted_form
    return form_urn if isinstance(form_urn, str) else None


def _named_leads(payload: Mapping[str, Any]) -> list[NamedLead]:
    note = lead_notification(payload)

    def read(response: Any, form: Any) -> LeadSubmission:
        if not isinstance(response, Mapping):
            raise PayloadError(f"linkedin answered no form response for {note.response_urn}")
        form = form if form is not None else response.get("form")
        return parse_linkedin(response, form if isinstance(form, Mapping) else None)

    def follow_up(response: Any) -> VendorCall | None:
        form_urn = form_to_fetch(response, note.form_urn)
        return None if form_urn is None else VendorCall(f"/leadForms/{quote(form_urn, safe='')}")

    call = VendorCall(f"/leadFormResponses/{quote(note.response_id, safe='')}")
    return [NamedLead(note.response_urn, call, read, follow_up)]


def _erased(payload: Mapping[str, Any]) -> str | None:
    return lead_notification(payload).response_urn if is_deletion(payload) else None


SPEC = Source(
    SOURCE,
    secret=Setting("linkedin_client_secret"),
    authenticity=Authenticity(
        "X-LI-Signature is missing or does not match the body",
        signed=lambda delivery, secret: verify_signature(
            delivery.body, delivery.header("x-li-signature"), secret
        ),
    ),
    parse=parse_linkedin,
    settings=(
        Setting("linkedin_access_token"),
        Setting("linkedin_api_url", "https://api.linkedin.com/rest"),
        Setting("linkedin_version", "202510"),
    ),
    handshake=Handshake(_handshake),
    fetching=Fetching(
        api_url="{linkedin_api_url}",
        headers={
            "Authorization": "Bearer {linkedin_access_token}",
            "LinkedIn-Version": "{linkedin_version}",
            "X-Restli-Protocol-Version": "2.0.0",
        },
        # A deletion is an erasure request: there is nothing left to fetch.
        needed=lambda payload: "formResponse" not in payload and not is_deletion(payload),
        leads=_named_leads,
    ),
    erasure=_erased,
)
