"""Capture a submission: normalise it, find the person it belongs to, remember the touch, emit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal
from uuid import UUID, uuid4, uuid5

from leadflow_intake.adapters import repository as repo
from leadflow_intake.domain.dedup import (
    MatchDecision,
    MatchOutcome,
    MatchThresholds,
    company_name,
    match,
    worth_comparing_among,
)
from leadflow_intake.domain.normalise import (
    Normalised,
    NormaliseResult,
    Rejected,
    normalise,
    phone_in_country,
    received_again,
)
from leadflow_intake.domain.updates import ProfileUpdate, apply_submission, consent_changes
from leadflow_intake.use_cases.engagement import apply_pending_consent
from leadflow_intake.use_cases.quarantine import quarantine
from leadflow_shared.consumer import Conflict
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import EventData, LeadCaptured, LeadConsentChanged, LeadUpdated
from leadflow_shared.contracts.lead import LeadProfile, LeadSubmission, Touch
from leadflow_shared.uow import UnitOfWork

DUPLICATE_NAMESPACE = UUID("0b7f2c55-1f43-4d0e-9a61-2f7d8e3c4a19")


@dataclass(frozen=True)
class DedupPolicy:
    """How eagerly a new profile is folded into a similar known lead, and how its phone key is read."""

    thresholds: MatchThresholds = field(default_factory=MatchThresholds)
    max_candidates: int = 50
    # The region of a national phone number when the lead names no country (INTAKE_DEFAULT_REGION).
    default_region: str | None = None


@dataclass(frozen=True)
class CaptureResult:
    """What became of a submission."""

    outcome: Literal["captured", "updated", "duplicate_delivery", "rejected"]
    lead_id: UUID | None = None
    reason: str | None = None
    review_against: UUID | None = None


def identity_keys(profile: LeadProfile) -> list[tuple[str, str]]:
    """The keys that make two submissions the same person: email and phone."""
    keys = []
    if profile.email:
        keys.append(("email", profile.email))
    if profile.phone:
        keys.append(("phone", profile.phone))
    return keys


async def capture(
    uow: UnitOfWork,
    submission: LeadSubmission,
    *,
    causation: Envelope | None = None,
    correlation_id: str | None = None,
    raw: object = None,
    policy: DedupPolicy = DedupPolicy(),
    normalised: NormaliseResult | None = None,
) -> CaptureResult:
    """Turn one submission into a captured or updated lead, or quarantine it with its reason.

    `normalised` is what normalise() made of the submission before, if it ran already.
    """
    if submission.source_id:
        seen = await repo.touch_seen(uow.conn, submission.source_system, submission.source_id)
        if seen is not None:
            return CaptureResult("duplicate_delivery", seen)

    received_at = datetime.now(UTC)
    result = (
        normalise(submission, received_at=received_at, default_region=policy.default_region)
        if normalised is None
        else received_again(normalised, submission, received_at)
    )
    if isinstance(result, Rejected):
        await quarantine(
            uow,
            submission.source_system,
            result.reason(),
            raw if raw is not None else submission.model_dump(mode="json"),
            causation=causation,
            part=f":{submission.source_id}" if submission.source_id else "",
            problems=[{"field": p.field, "message": p.message} for p in result.problems],
        )
        return CaptureResult("rejected", reason=result.reason())
    assert isinstance(result, Normalised)

    keys = identity_keys(result.profile)
    existing = await repo.leads_by_keys(uow.conn, keys)
    review_against: UUID | None = None
    review_score, review_reason = 0.0, ""
    if not existing:
        domain, name = result.profile.company_domain, company_name(result.profile)
        at_domain, at_name, glances = await repo.company_candidates(
            uow.conn, [domain] if domain else [], [name] if name else [], policy.max_candidates
        )
        worth = _worth(result.profile, policy, at_domain, at_name, glances)
        at_company = await repo.candidate_profiles(uow.conn, worth)
        candidates = _candidates(result.profile, worth, at_company, new_at_domain={}, new_at_name={})
        decision = match(result.profile, candidates, policy.thresholds)
        if decision.outcome is MatchOutcome.MERGE and decision.candidate is not None:
            existing = [decision.candidate]
        elif decision.outcome is MatchOutcome.REVIEW and decision.candidate is not None:
            review_against, review_score, review_reason = decision.candidate, decision.score, decision.reason
    if existing:
        lead_id = existing[0]
        stored = (await repo.lock_profiles(uow.conn, [lead_id])).get(lead_id)
        if stored is not None:
            result = phone_in_country(result, submission, stored.profile.country, policy.default_region)
            keys = identity_keys(result.profile)
        update = _updated(stored, result)
        await repo.update_leads(uow.conn, [(lead_id, update.profile)], [update.as_of])
        await repo.claim_keys(uow.conn, lead_id, keys)
        if not await repo.add_touch(uow.conn, lead_id, result.touch):
            return CaptureResult("duplicate_delivery", lead_id)
        for event in _update_events(lead_id, update, result.touch):
            await uow.outbox.emit(event, causation=causation, correlation_id=correlation_id)
        await apply_pending_consent(uow, [(lead_id, update.profile.email, causation)])
        return CaptureResult("updated", lead_id)

    lead_id = uuid4()
    await repo.insert_lead(uow.conn, lead_id, result.profile)
    if not await repo.claim_keys(uow.conn, lead_id, keys):
        # A concurrent submission of the same person won the keys; retrying finds and updates it.
        raise Conflict("identity key taken by a concurrent capture")
    if not await repo.add_touch(uow.conn, lead_id, result.touch):
        raise Conflict("source id recorded by a concurrent capture")
    if review_against is not None:
        pair = sorted([str(lead_id), str(review_against)])
        await repo.record_duplicate(
            uow.conn,
            uuid5(DUPLICATE_NAMESPACE, ":".join(pair)),
            lead_id,
            review_against,
            review_score,
            review_reason,
        )
    await uow.outbox.emit(
        LeadCaptured(lead_id=lead_id, profile=result.profile, touch=result.touch),
        causation=causation,
        correlation_id=correlation_id,
    )
    await apply_pending_consent(uow, [(lead_id, result.profile.email, causation)])
    return CaptureResult("captured", lead_id, review_against=review_against)


@dataclass
class _Fresh:
    """A submission of a new person in a batch: written with the others in a few statements."""

    index: int
    lead_id: UUID
    normalised: Normalised
    keys: list[tuple[str, str]]
    causation: Envelope | None
    review: MatchDecision[UUID] | None = None


async def capture_many(
    uow: UnitOfWork,
    items: list[tuple[LeadSubmission, Envelope | None]],
    *,
    policy: DedupPolicy = DedupPolicy(),
) -> list[CaptureResult]:
    """capture() of each submission in turn, with a few statements for all the new people among them.

    A submission that meets an earlier one of the batch (same key, source id or company), a known
    person, a rejection or a merge takes the one-by-one path, after the new people are written. On that
    path, each run of known people, each known by their keys as one live lead, is updated in a few
    statements too.
    """
    conn = uow.conn
    deliveries = [(s.source_system, s.source_id) for s, _ in items if s.source_id]
    seen = await repo.touches_seen(conn, deliveries)
    received_at = datetime.now(UTC)
    results_of: dict[int, NormaliseResult] = {}
    normalised: dict[int, Normalised] = {}
    for index, (submission, _) in enumerate(items):
        if submission.source_id and (submission.source_system, submission.source_id) in seen:
            continue
        results_of[index] = result = normalise(
            submission, received_at=received_at, default_region=policy.default_region
        )
        if isinstance(result, Normalised):
            normalised[index] = result
    all_keys = {key for n in normalised.values() for key in identity_keys(n.profile)}
    owned = await repo.keys_owned(conn, sorted(all_keys))
    domains = {n.profile.company_domain for n in normalised.values()} - {None}
    names = {company_name(n.profile) for n in normalised.values()} - {""}
    by_domain, by_name, glances = await repo.company_candidates(
        conn, sorted(d for d in domains if d), sorted(names), policy.max_candidates
    )
    # The stored people each newcomer the loop below may compare is worth comparing with, and their
    # profiles, read in one query before the loop.
    worth_of = {
        index: _worth(n.profile, policy, by_domain, by_name, glances)
        for index, n in normalised.items()
        if not owned.intersection(identity_keys(n.profile))
    }
    stored = await repo.candidate_profiles(conn, sorted({i for ids in worth_of.values() for i in ids}))

    results: dict[int, CaptureResult] = {}
    fresh: list[_Fresh] = []
    one_by_one: list[int] = []
    known_people: list[int] = []
    taken_keys: set[tuple[str, str]] = set()
    taken_sources: set[tuple[str, str]] = set()
    later_companies: set[str] = set()
    new_at_domain: dict[str, list[tuple[UUID, LeadProfile]]] = {}
    new_at_name: dict[str, list[tuple[UUID, LeadProfile]]] = {}
    for index, (submission, causation) in enumerate(items):
        delivery = (submission.source_system, submission.source_id or "")
        if submission.source_id and delivery in seen:
            results[index] = CaptureResult("duplicate_delivery", seen[delivery])
            continue
        found = normalised.get(index)
        profile = found.profile if found else None
        keys = identity_keys(profile) if profile else []
        companies = _companies(profile) if profile else set()
        meets_earlier = (
            bool(taken_keys.intersection(keys))
            or bool(later_companies & companies)
            or (submission.source_id is not None and delivery in taken_sources)
        )
        taken_keys.update(keys)
        if submission.source_id:
            taken_sources.add(delivery)
        decision = None
        if found is not None and profile is not None and not meets_earlier and not owned.intersection(keys):
            known = _candidates(profile, worth_of[index], stored, new_at_domain, new_at_name)
            decision = match(profile, known, policy.thresholds)
        if found is None or profile is None or decision is None or decision.outcome is MatchOutcome.MERGE:
            # Whoever shares its company from here on must see what the one-by-one path makes of it.
            later_companies |= companies
            one_by_one.append(index)
            if found is not None and not meets_earlier and owned.intersection(keys):
                known_people.append(index)
            continue
        item = _Fresh(index, uuid4(), found, keys, causation)
        if decision.outcome is MatchOutcome.REVIEW and decision.candidate is not None:
            item.review = decision
        fresh.append(item)
        if profile.company_domain:
            new_at_domain.setdefault(profile.company_domain, []).append((item.lead_id, profile))
        if name := company_name(profile):
            new_at_name.setdefault(name, []).append((item.lead_id, profile))

    while fresh:
        rows = [(f.lead_id, f.normalised.profile, f.keys, f.normalised.touch) for f in fresh]
        try:
            async with conn.transaction():
                lost = await repo.insert_new_leads(conn, rows)
                if lost:
                    raise _LostRace(lost)
            break
        except _LostRace as race:
            # A concurrent capture of some of these people committed first: one by one finds them,
            # and whoever was to be reviewed against them is judged again there too.
            behind = _behind(fresh, race.lost)
            one_by_one = sorted([*one_by_one, *behind])
            fresh = [f for f in fresh if f.index not in behind]
    for item in fresh:
        if item.review is not None and item.review.candidate is not None:
            pair = sorted([str(item.lead_id), str(item.review.candidate)])
            await repo.record_duplicate(
                conn,
                uuid5(DUPLICATE_NAMESPACE, ":".join(pair)),
                item.lead_id,
                item.review.candidate,
                item.review.score,
                item.review.reason,
            )
        await uow.outbox.emit(
            LeadCaptured(lead_id=item.lead_id, profile=item.normalised.profile, touch=item.normalised.touch),
            causation=item.causation,
        )
        results[item.index] = CaptureResult(
            "captured", item.lead_id, review_against=item.review.candidate if item.review else None
        )
    # Nothing before a known person's turn changes who holds its keys: no one else in the batch has them.
    holders = await repo.survivors(conn, [identity_keys(normalised[i].profile) for i in known_people])
    held = {
        i: _Known(i, *items[i], normalised[i], next(iter(lead_ids)))
        for i, lead_ids in zip(known_people, holders, strict=True)
        if len(lead_ids) == 1
    }
    run: list[_Known] = []
    for turn in [*one_by_one, None]:
        person = held.get(turn) if turn is not None else None
        # A lead met again reads its profile as stored after the first: a run updates each lead once.
        if run and (person is None or any(k.lead_id == person.lead_id for k in run)):
            results.update(await _update_known(uow, run, policy.default_region))
            run = []
        if person is not None:
            run.append(person)
        elif turn is not None:
            submission, causation = items[turn]
            results[turn] = await capture(
                uow, submission, causation=causation, policy=policy, normalised=results_of.get(turn)
            )
    # After every lead.captured and lead.updated of the batch, so a kept opt-out follows its lead's capture.
    await apply_pending_consent(
        uow,
        [
            (result.lead_id, normalised[index].profile.email, items[index][1])
            for index, result in results.items()
            if result.lead_id and result.outcome in ("captured", "updated") and index in normalised
        ],
    )
    return [results[index] for index in range(len(items))]


@dataclass(frozen=True)
class _Known:
    """A submission of a person whose identity keys one live lead holds, met by no one before in its batch."""

    index: int
    submission: LeadSubmission
    causation: Envelope | None
    normalised: Normalised
    lead_id: UUID


async def _update_known(
    uow: UnitOfWork, run: list[_Known], default_region: str | None
) -> dict[int, CaptureResult]:
    """capture() of each submission of a run of known people, each of another lead, in a few statements.

    They share no key, source id or lead: the run's order is kept only where it shows, in the order of
    their touches and events.
    """
    conn = uow.conn
    results: dict[int, CaptureResult] = {}
    seen = await repo.touches_seen(
        conn, [(k.submission.source_system, k.submission.source_id) for k in run if k.submission.source_id]
    )
    live = []
    for k in run:
        delivery = (k.submission.source_system, k.submission.source_id or "")
        if k.submission.source_id and delivery in seen:
            results[k.index] = CaptureResult("duplicate_delivery", seen[delivery])
        else:
            live.append(k)
    if not live:
        return results
    received_at = datetime.now(UTC)
    stored = await repo.lock_profiles(conn, [k.lead_id for k in live])
    updates = []
    keys: list[tuple[str, str, UUID]] = []
    for k in live:
        result = received_again(k.normalised, k.submission, received_at)
        assert isinstance(result, Normalised)
        known = stored.get(k.lead_id)
        if known is not None:
            result = phone_in_country(result, k.submission, known.profile.country, default_region)
        keys.extend((kind, value, k.lead_id) for kind, value in identity_keys(result.profile))
        updates.append((k, result.touch, _updated(known, result)))
    await repo.update_leads(
        conn, [(k.lead_id, update.profile) for k, _, update in updates], [u.as_of for _, _, u in updates]
    )
    await repo.claim_many_keys(conn, keys)
    added = await repo.add_touches(conn, [(k.lead_id, touch) for k, touch, _ in updates])
    recorded = {(source_system, source_id) for _, source_system, source_id in added}
    for k, touch, update in updates:
        if touch.source_id is not None and (touch.source_system, touch.source_id) not in recorded:
            results[k.index] = CaptureResult("duplicate_delivery", k.lead_id)
            continue
        await uow.outbox.emit_many([(e, k.causation) for e in _update_events(k.lead_id, update, touch)])
        results[k.index] = CaptureResult("updated", k.lead_id)
    return results


def _update_events(lead_id: UUID, update: ProfileUpdate, touch: Touch) -> list[EventData]:
    """lead.updated, then lead.consent_changed for each channel the submission changed (a form's opt-out)."""
    events: list[EventData] = [
        LeadUpdated(lead_id=lead_id, profile=update.profile, touch=touch, changed=list(update.changed))
    ]
    for channel, opted_in in consent_changes(update):
        way = "opted in" if opted_in else "opted out"
        reason = f"{way} on a {touch.source_system} submission"
        events.append(LeadConsentChanged(lead_id=lead_id, channel=channel, opted_in=opted_in, reason=reason))
    return events


def _updated(stored: repo.StoredProfile | None, result: Normalised) -> ProfileUpdate:
    """The stored profile after this submission, by the update policy (domain/updates.py)."""
    if stored is None:
        return ProfileUpdate(result.profile, {}, ())
    return apply_submission(
        stored.profile, result.profile, result.touch.occurred_at, as_of=stored.as_of, baseline=stored.baseline
    )


def _behind(fresh: list[_Fresh], lost: set[UUID]) -> set[int]:
    """The new people that must go one by one: those that lost, and those reviewed against them."""
    gone, behind = set(lost), set()
    changed = True
    while changed:
        changed = False
        for item in fresh:
            reviewed = item.review.candidate if item.review else None
            if item.index not in behind and (item.lead_id in gone or reviewed in gone):
                behind.add(item.index)
                gone.add(item.lead_id)
                changed = True
    return behind


class _LostRace(Exception):
    """The bulk insert met identity keys or source ids another transaction had just taken."""

    def __init__(self, lost: set[UUID]) -> None:
        super().__init__(f"{len(lost)} leads lost a race")
        self.lost = lost


def _companies(profile: LeadProfile) -> set[str]:
    found = {f"domain:{profile.company_domain}"} if profile.company_domain else set()
    if name := company_name(profile):
        found.add(f"name:{name}")
    return found


def _worth(
    profile: LeadProfile,
    policy: DedupPolicy,
    by_domain: dict[str, list[UUID]],
    by_name: dict[str, list[UUID]],
    glances: Mapping[UUID, repo.Glance],
) -> list[UUID]:
    """The stored live leads at the profile's company domain or name that match() could take for more than a
    new lead, oldest first (of equally good matches, match() takes the first)."""
    domain, name = profile.company_domain, company_name(profile)
    ids = dict.fromkeys(
        [*(by_domain.get(domain, []) if domain else []), *(by_name.get(name, []) if name else [])]
    )
    worth = worth_comparing_among(profile, ((i, *glances[i][:3]) for i in ids), policy.thresholds)
    return sorted(worth, key=lambda lead_id: (glances[lead_id][3], lead_id))


def _candidates(
    profile: LeadProfile,
    worth: list[UUID],
    stored: Mapping[UUID, LeadProfile],
    new_at_domain: dict[str, list[tuple[UUID, LeadProfile]]],
    new_at_name: dict[str, list[tuple[UUID, LeadProfile]]],
) -> list[tuple[UUID, LeadProfile]]:
    """The leads match() compares the profile with: the stored ones worth it (those merged away since they
    were found are gone from `stored`), and the new ones of a batch before it at its company."""
    found = {lead_id: stored[lead_id] for lead_id in worth if lead_id in stored}
    for lead_id, known in [
        *new_at_domain.get(profile.company_domain or "", []),
        *new_at_name.get(company_name(profile), []),
    ]:
        found[lead_id] = known
    return list(found.items())
