"""The touch scheduler: claims due touches under a lease, sends them with no transaction open, records them.

Delivery order and the crash window: a round claims due touches with FOR UPDATE SKIP LOCKED, settles
at once those it will not send (cancelled, no consent, suppressed, ...), leases the rest for
`lease` and commits. It then sends them over SMTP holding no transaction and no connection, and
in a second transaction marks the touches it still holds the lease of sent, emits
nurture.touch_sent and schedules the next step. A crash or a lost database connection between
the two leaves the lease to run out, after which a later round (this replica after a restart,
or another replica) sends the touches: nothing is lost. The price is at-least-once delivery:
a crash in the window after the SMTP server accepted a message and before the second commit
sends that message again. Each message carries a Message-ID derived from the touch id, so a
receiving system can drop such a duplicate. We chose this over marking a touch sent before
sending, which would silently lose touches on a crash. A round stops sending when its lease
comes close to running out, so a slow SMTP server does not let a second round send the same
touches while the first still holds them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.errors import MessageError
from email.message import EmailMessage
from typing import Any, overload

import asyncpg
import structlog
from pydantic import ValidationError

from leadflow_nurture.adapters import enrollments, leads, metrics, suppressions, touches
from leadflow_nurture.adapters.content import template_for
from leadflow_nurture.adapters.smtp import MailSender
from leadflow_nurture.adapters.tracks import TrackStore
from leadflow_nurture.domain.consent import BOUNCED
from leadflow_nurture.domain.delivery import (
    FailureKind,
    GiveUp,
    Retry,
    RetryPolicy,
    TurnMissed,
    after_failure,
)
from leadflow_nurture.domain.email import Recipient, Sender, Unrenderable, render_touch
from leadflow_nurture.domain.engagement import check_exhaustion
from leadflow_nurture.domain.enrollment import TouchOutcome
from leadflow_nurture.domain.matching import LeadContext
from leadflow_nurture.domain.tracks import EntrySource, Step
from leadflow_nurture.domain.unsubscribe import UnsubscribeLinks
from leadflow_nurture.use_cases import lifecycle
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import EventData, ExhaustedNext, NurtureExhausted, NurtureTouchSent
from leadflow_shared.contracts.lead import LeadProfile
from leadflow_shared.privacy import email_hash
from leadflow_shared.uow import UnitOfWorkFactory

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class SchedulerConfig:
    """What a scheduler round needs besides the database; each email's unsubscribe link comes from links."""

    sender: Sender
    links: UnsubscribeLinks
    batch_size: int = 100
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # How long a round holds the touches it sends; it stops sending `margin` before the lease runs out.
    lease: timedelta = timedelta(minutes=5)
    margin: timedelta = timedelta(seconds=50)


Draft = tuple[Mapping[str, Any], Step, LeadProfile]


@dataclass
class Claim:
    """What the first transaction of a round leaves to send, under its lease."""

    lease: uuid.UUID
    deadline: float
    to_send: list[Draft]
    settled: int


async def send_due_touches(
    uows: UnitOfWorkFactory, store: TrackStore, mail: MailSender, config: SchedulerConfig
) -> int:
    """One round: claim and lease, send, record; answers how many touches it settled (sent, skipped, failed).

    A touch whose email fails is settled or put off on its own: the others of the round go out regardless.
    """
    claim = await _claim(uows, store, config)
    if not claim.to_send:
        return claim.settled
    fates = await deliver(mail, claim.to_send, config, claim.deadline)
    return claim.settled + await _record(uows, store, claim, fates)


async def _claim(uows: UnitOfWorkFactory, store: TrackStore, config: SchedulerConfig) -> Claim:
    """Claim due touches; settle those that are not to be sent and lease the others to this round."""
    claim = Claim(uuid.uuid4(), time.monotonic() + (config.lease - config.margin).total_seconds(), [], 0)
    async with uows() as uow:
        conn = uow.conn
        rows = await touches.claim_due(conn, config.batch_size)
        if not rows:
            return claim
        outcomes: dict[int, str] = {}
        given_up: dict[int, GiveUp] = {}
        unknown: list[tuple[int, str, timedelta, int]] = []
        to_send: list[Draft] = []
        for row in rows:
            if row["enrollment_status"] != "active":
                outcomes[row["id"]] = "cancelled"
                continue
            track = await store.version(conn, row["track"], row["track_version"])
            step = track.steps[row["step"] - 1]
            try:
                profile = LeadProfile.model_validate(row["profile"]) if row["profile"] else None
            except ValidationError as error:
                outcomes[row["id"]] = TouchOutcome.FAILED.value
                given_up[row["id"]] = GiveUp(FailureKind.UNSENDABLE, f"unreadable profile: {error}"[:500])
                continue
            if row["opted_in"] is False or (profile is not None and profile.consent.email is False):
                outcomes[row["id"]] = TouchOutcome.SKIPPED_NO_CONSENT.value
            elif profile is None and row["attempts"] + 1 < config.retry.max_attempts:
                # The lead's profile comes on intake's topic, which may lag behind the one that enrolled it
                # (after a crash, say): try again later rather than skip a person whose address is on its way.
                attempt = row["attempts"] + 1
                unknown.append(
                    (row["id"], "the lead's profile is not known here yet", config.retry.delay(attempt), 1)
                )
            elif profile is None or not profile.email:
                outcomes[row["id"]] = TouchOutcome.SKIPPED_NO_ADDRESS.value
            elif row["undeliverable"]:
                outcomes[row["id"]] = TouchOutcome.SKIPPED_UNDELIVERABLE.value
            else:
                to_send.append((row, step, profile))
        blocked = await suppressions.suppressed(conn, [profile.email or "" for _, _, profile in to_send])
        for row, _, profile in to_send:
            if email_hash(profile.email or "") in blocked:
                outcomes[row["id"]] = TouchOutcome.SKIPPED_SUPPRESSED.value
        claim.to_send = [draft for draft in to_send if draft[0]["id"] not in outcomes]
        if claim.to_send:
            await touches.lease(conn, [row["id"] for row, _, _ in claim.to_send], claim.lease, config.lease)
        if unknown:
            await touches.put_off(conn, unknown)
        if given_up:
            await _give_up(conn, [r for r in rows if r["id"] in given_up], given_up)
        await _settle(conn, store, [r for r in rows if r["id"] in outcomes], outcomes, uow.outbox)
        claim.settled = len(outcomes)
        return claim


async def _record(
    uows: UnitOfWorkFactory, store: TrackStore, claim: Claim, fates: Sequence[Retry | GiveUp | None]
) -> int:
    """Record what became of the sent touches this round still holds (a lost lease is a later round's)."""
    async with uows() as uow:
        conn = uow.conn
        held = await touches.lock_held(conn, [row["id"] for row, _, _ in claim.to_send], claim.lease)
        outcomes: dict[int, str] = {}
        given_up: dict[int, GiveUp] = {}
        retries: list[tuple[int, str, timedelta, int]] = []
        rows = []
        for (row, _, _), fate in zip(claim.to_send, fates, strict=True):
            if row["id"] not in held:
                continue
            rows.append(row)
            if fate is None:
                outcomes[row["id"]] = TouchOutcome.SENT.value
            elif isinstance(fate, Retry):
                retries.append((row["id"], fate.reason, fate.after, int(fate.counted)))
            else:
                outcomes[row["id"]] = TouchOutcome.FAILED.value
                given_up[row["id"]] = fate
        if len(held) < len(claim.to_send):
            log.warning(
                "touches of a lost lease left to the round holding them", count=len(claim.to_send) - len(held)
            )
        if retries:
            # The reasons stay in the table: an SMTP answer often quotes the address, which logs never carry.
            log.warning("touches not sent; retrying later", count=len(retries))
            metrics.SEND_RETRIES.inc(len(retries))
            await touches.put_off(conn, retries)
        if given_up:
            await _give_up(conn, [r for r in rows if r["id"] in given_up], given_up)
        await _settle(conn, store, [r for r in rows if r["id"] in outcomes], outcomes, uow.outbox)
        return len(outcomes)


async def deliver(
    mail: MailSender, drafts: Sequence[Draft], config: SchedulerConfig, deadline: float | None = None
) -> list[Retry | GiveUp | None]:
    """Send the drafts' emails until the monotonic deadline; for each, None when sent, else what follows."""
    if not drafts:
        return []
    failures = await mail.send(Messages(drafts, config.sender, config.links, deadline))
    return [
        None if failure is None else after_failure(failure, row["attempts"], config.retry)
        for (row, _, _), failure in zip(drafts, failures, strict=True)
    ]


async def _give_up(
    conn: asyncpg.Connection, rows: Sequence[asyncpg.Record], given_up: dict[int, GiveUp]
) -> None:
    """Keep why each touch failed; mark the addresses that bounced, so nothing more is sent to them."""
    for row in rows:
        fate = given_up[row["id"]]
        metrics.TOUCHES_FAILED.labels(fate.kind.value).inc()
        log.warning(
            "touch failed; its reason is in touches.last_error", touch_id=row["id"], kind=fate.kind.value
        )
    await touches.record_failures(
        conn,
        [row["id"] for row in rows],
        [given_up[row["id"]].kind.value for row in rows],
        [given_up[row["id"]].reason for row in rows],
    )
    bounced = [(row, given_up[row["id"]]) for row in rows if given_up[row["id"]].undeliverable]
    if bounced:
        addresses = await leads.emails_of(conn, [row["lead_id"] for row, _ in bounced])
        await suppressions.suppress(conn, [(address, BOUNCED, "smtp") for address in addresses])
        await touches.mark_undeliverable(
            conn,
            [row["id"] for row, _ in bounced],
            [row["lead_id"] for row, _ in bounced],
            [fate.reason for _, fate in bounced],
        )


async def _settle(
    conn: asyncpg.Connection,
    store: TrackStore,
    rows: Sequence[asyncpg.Record],
    outcomes: dict[int, str],
    outbox: Any,
) -> None:
    if rows:
        await touches.settle(conn, [row["id"] for row in rows], [outcomes[row["id"]] for row in rows])
    next_touches: list[tuple[Any, ...]] = []
    # Per enrollment, what its touches of this round add up to: (sent, skipped, exhaust after the last).
    enrollment_updates: dict[Any, tuple[int, int, timedelta | None]] = {}
    events: list[tuple[EventData, Envelope | None]] = []
    for row in rows:
        outcome = outcomes[row["id"]]
        if outcome == "cancelled":
            continue
        track = await store.version(conn, row["track"], row["track_version"])
        sent = outcome == TouchOutcome.SENT.value
        exhaust_after: timedelta | None = None
        if row["step"] < len(track.steps):
            following = track.steps[row["step"]]
            next_touches.append(
                (
                    row["enrollment_id"],
                    row["lead_id"],
                    row["step"] + 1,
                    following.channel.value,
                    following.content_ref,
                    following.delay.as_timedelta(),
                )
            )
        else:
            exhaust_after = track.exit.grace.as_timedelta()
        sent_before, skipped_before, _ = enrollment_updates.get(row["enrollment_id"], (0, 0, None))
        enrollment_updates[row["enrollment_id"]] = (
            sent_before + int(sent),
            skipped_before + int(not sent),
            exhaust_after,
        )
        if sent:
            events.append(
                (
                    NurtureTouchSent(
                        lead_id=row["lead_id"],
                        enrollment_id=row["enrollment_id"],
                        step=row["step"],
                        channel=row["channel"],
                        content_ref=row["content_ref"],
                    ),
                    None,
                )
            )
    if enrollment_updates:
        await enrollments.count_touches(conn, enrollment_updates)
    if next_touches:
        # The next delay counts from when this touch actually went out, as the domain's next_touch does.
        await touches.schedule(conn, next_touches)
    if events:
        await outbox.emit_many(events)


class Messages(Sequence[EmailMessage]):
    """The emails of a round, each rendered when the sender first reads it.

    A round whose SMTP connection fails renders none (its touches are only due again), and a touch that
    cannot be rendered raises Unrenderable when read, for the sender to answer for that touch alone. One
    read after the deadline (the round's lease about to run out) raises TurnMissed, for a later round.
    """

    def __init__(
        self, drafts: Sequence[Draft], sender: Sender, links: UnsubscribeLinks, deadline: float | None = None
    ) -> None:
        self._drafts = drafts
        self._deadline = deadline
        self._sender = sender
        self._links = links
        self._at = lifecycle.now()
        self._rendered: dict[int, EmailMessage | Unrenderable] = {}

    def __len__(self) -> int:
        return len(self._drafts)

    @overload
    def __getitem__(self, index: int) -> EmailMessage: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[EmailMessage]: ...

    def __getitem__(self, index: int | slice) -> EmailMessage | Sequence[EmailMessage]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        index = range(len(self))[index]
        rendered = self._rendered.get(index)
        if rendered is None:
            if self._deadline is not None and time.monotonic() > self._deadline:
                raise TurnMissed("the round's lease ran out before this email's turn")
            row, step, profile = self._drafts[index]
            try:
                link = self._links.url(row["lead_id"], self._at)
                rendered = _message(row, step, profile, replace(self._sender, unsubscribe_url=link))
            except Unrenderable as error:
                rendered = error
            except (LookupError, ValueError, TypeError, MessageError) as error:
                rendered = Unrenderable(f"cannot render the email: {type(error).__name__}: {error}"[:500])
            self._rendered[index] = rendered
        if isinstance(rendered, Unrenderable):
            raise rendered
        return rendered

    @property
    def rendered(self) -> bool:
        """Whether any email was rendered (some sender read it)."""
        return bool(self._rendered)


def _message(row: Mapping[str, Any], step: Step, profile: LeadProfile, sender: Sender) -> EmailMessage:
    recipient = Recipient(
        email=profile.email or "",
        first_name=profile.first_name,
        last_name=profile.last_name,
        company=profile.company,
    )
    message = render_touch(step, recipient, sender, template_for(step.content_ref))
    domain = sender.email.rpartition("@")[2] or "leadflow.local"
    message["Message-ID"] = f"<touch-{row['id']}@{domain}>"
    message["X-Leadflow-Touch"] = f"{row['enrollment_id']}/{row['step']}"
    message["X-Leadflow-Channel"] = row["channel"]
    return message


async def exhaust_quiet_enrollments(
    uows: UnitOfWorkFactory, store: TrackStore, batch_size: int, at: datetime | None = None
) -> int:
    """End enrollments whose last step passed its grace quietly: emit nurture.exhausted, archive or move.

    `at` is the moment the round judges by (now unless given), the one clock its query and its rules read.
    """
    moment = at or lifecycle.now()
    async with uows() as uow:
        conn = uow.conn
        rows = await enrollments.lock_quiet(conn, batch_size, moment)
        if not rows:
            return 0
        in_force = await store.load(conn)
        history = await touches.history(conn, [row["id"] for row in rows])
        settled = 0
        for row in rows:
            track = await store.version(conn, row["track"], row["track_version"])
            enrollment = enrollments.enrollment_from_row(row).model_copy(
                update={"touches": tuple(history.get(row["id"], []))}
            )
            result = check_exhaustion(enrollment, track, moment)
            if result is None:
                quiet = max(
                    filter(None, (enrollment.last_touch_at, enrollment.last_engaged_at)), default=moment
                )
                await enrollments.put_off_exhaustion(conn, row["id"], quiet + track.exit.grace.as_timedelta())
                continue
            ended, exhaustion = result
            await enrollments.mark_exhausted(
                conn,
                row["id"],
                ended.ended_at,
                ended.end_reason,
                exhaustion.next.value,
                exhaustion.next_track,
            )
            exhausted = await uow.outbox.emit(
                NurtureExhausted(
                    lead_id=row["lead_id"],
                    track=row["track"],
                    enrollment_id=row["id"],
                    next=exhaustion.next,
                    next_track=exhaustion.next_track,
                )
            )
            target = in_force.get(exhaustion.next_track) if exhaustion.next_track else None
            if exhaustion.next is ExhaustedNext.MOVE and target is not None:
                context = LeadContext(source=EntrySource(row["source"]))
                await lifecycle.enroll(uow, in_force, row["lead_id"], context, exhausted, track=target)
            else:
                await lifecycle.archive(conn, row["lead_id"], "exhausted", ended.end_reason or "exhausted")
            settled += 1
        return settled


async def run_scheduler(
    uows: UnitOfWorkFactory,
    store: TrackStore,
    mail: MailSender,
    config: SchedulerConfig,
    poll_interval_s: float,
    stopping: asyncio.Event,
) -> None:
    """Loop until stopping: send due touches and exhaust quiet enrollments; never dies on an error."""
    while not stopping.is_set():
        busy = False
        try:
            busy = await send_due_touches(uows, store, mail, config) >= config.batch_size
            await exhaust_quiet_enrollments(uows, store, config.batch_size)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning("scheduler round failed; retrying", error=repr(error))
        if busy:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), poll_interval_s)
