"""Nurture tracks as versioned, validated data: who enters, which touches follow, when it ends."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from leadflow_shared.bounds import MAX_ITEMS, Name, Text, no_nul
from leadflow_shared.contracts.events import DisqualificationReason, ExhaustedNext
from leadflow_shared.contracts.lead import ActivityType, ContactChannel, TriggerKind

# Bounds that keep a track set storable and its schedule computable; far above any real track.
MAX_DELAY_DAYS = 3650
MAX_STEPS = 50
MAX_SUBJECT = 300
MAX_POINTS = 10_000


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StepChannel(StrEnum):
    """How one step of a track reaches the lead."""

    NEWSLETTER_SUBSCRIPTION = "newsletter_subscription"
    WEBINAR_INVITATION = "webinar_invitation"
    DRIP_EMAIL = "drip_email"


CONTACT_CHANNEL: Mapping[StepChannel, ContactChannel] = {
    StepChannel.NEWSLETTER_SUBSCRIPTION: ContactChannel.EMAIL,
    StepChannel.WEBINAR_INVITATION: ContactChannel.EMAIL,
    StepChannel.DRIP_EMAIL: ContactChannel.EMAIL,
}
"""The contact channel (and so the consent) each step channel depends on."""


class EntrySource(StrEnum):
    """The event that brings a lead to nurture."""

    DISQUALIFIED = "disqualified"
    NURTURING = "nurturing"
    OPPORTUNITY_LOST = "opportunity_lost"


_DURATION_TEXT = re.compile(
    r"^\s*(-?\d+)\s*(s|secs?|seconds?|m|mins?|minutes?|h|hours?|d|days?|w|weeks?)\s*$", re.IGNORECASE
)


class Delay(_Frozen):
    """A waiting time; also written as text such as "30d", "48h", "2w", "15m" or "5s"."""

    days: int = Field(default=0, le=MAX_DELAY_DAYS)
    hours: int = Field(default=0, le=MAX_DELAY_DAYS * 24)
    minutes: int = Field(default=0, le=MAX_DELAY_DAYS * 24 * 60)
    seconds: int = Field(default=0, le=MAX_DELAY_DAYS * 24 * 3600)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        found = _DURATION_TEXT.match(value)
        if found is None:
            raise ValueError(f"cannot read {value!r} as a delay; write e.g. '30d', '48h' or '2w'")
        amount, unit = int(found.group(1)), found.group(2).lower()
        if unit.startswith("s"):
            return {"seconds": amount}
        if unit.startswith("m"):
            return {"minutes": amount}
        if unit.startswith("h"):
            return {"hours": amount}
        return {"days": amount * 7 if unit.startswith("w") else amount}

    @model_validator(mode="after")
    def _not_negative(self) -> Delay:
        if min(self.days, self.hours, self.minutes, self.seconds) < 0:
            raise ValueError(
                f"must not be negative (got {self.days} days, {self.hours} hours,"
                f" {self.minutes} minutes, {self.seconds} seconds)"
            )
        return self

    def as_timedelta(self) -> timedelta:
        """The delay as a timedelta."""
        return timedelta(days=self.days, hours=self.hours, minutes=self.minutes, seconds=self.seconds)


class Step(_Frozen):
    """One touch of a track, sent a delay after the previous touch (or after enrollment)."""

    channel: StepChannel
    delay: Delay = Delay()
    content_ref: Name
    subject: Annotated[str, Field(min_length=1, max_length=MAX_SUBJECT), AfterValidator(no_nul)]

    @field_validator("subject")
    @classmethod
    def _one_line(cls, subject: str) -> str:
        if "\n" in subject or "\r" in subject:
            raise ValueError("a subject line must be one line")
        return subject

    @property
    def contact_channel(self) -> ContactChannel:
        """The contact channel whose consent this step needs."""
        return CONTACT_CHANNEL[self.channel]


class EntryConditions(_Frozen):
    """Who a track takes; an empty set or a missing bound means no condition on that field."""

    sources: frozenset[EntrySource] = frozenset()
    reasons: frozenset[DisqualificationReason] = frozenset()
    min_fit: float | None = Field(default=None, ge=0, le=100)
    max_fit: float | None = Field(default=None, ge=0, le=100)
    countries: frozenset[str] = Field(default=frozenset(), max_length=MAX_ITEMS)
    industries: frozenset[Name] = Field(default=frozenset(), max_length=MAX_ITEMS)
    lost_reasons: frozenset[Name] = Field(default=frozenset(), max_length=MAX_ITEMS)

    @field_validator("countries", mode="before")
    @classmethod
    def _country_codes(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple | set | frozenset):
            return value
        codes = []
        for code in value:
            if not isinstance(code, str) or not re.fullmatch(r"[A-Za-z]{2}", code.strip()):
                raise ValueError(f"country {code!r} is not an ISO 3166 two-letter code")
            codes.append(code.strip().upper())
        return frozenset(codes)

    @field_validator("industries", "lost_reasons", mode="after")
    @classmethod
    def _folded(cls, value: frozenset[str]) -> frozenset[str]:
        return frozenset(item.strip().casefold() for item in value)

    @model_validator(mode="after")
    def _fit_range(self) -> EntryConditions:
        if self.min_fit is not None and self.max_fit is not None and self.min_fit > self.max_fit:
            raise ValueError(f"min_fit {self.min_fit} is above max_fit {self.max_fit}")
        return self


class ExitConditions(_Frozen):
    """When a lead leaves a track early for requalification, and how long to wait after the last step.

    Unsubscribing and conversion always end an enrollment; they are not configurable.
    """

    engagement_threshold: int = Field(default=15, gt=0, le=MAX_POINTS)
    requalify_triggers: frozenset[TriggerKind] = frozenset(TriggerKind)
    grace: Delay = Delay(days=14)


class OnExhaustion(_Frozen):
    """What happens when the last step was sent and the grace period passed quietly."""

    action: ExhaustedNext = ExhaustedNext.ARCHIVE
    move_to: Name | None = None

    @model_validator(mode="after")
    def _target_matches_action(self) -> OnExhaustion:
        if self.action is ExhaustedNext.MOVE and not self.move_to:
            raise ValueError("action 'move' needs move_to, the name of the next track")
        if self.action is ExhaustedNext.ARCHIVE and self.move_to:
            raise ValueError(f"action 'archive' cannot also move to {self.move_to!r}")
        return self


DEFAULT_POINTS: Mapping[ActivityType, int] = {
    ActivityType.EMAIL_OPENED: 1,
    ActivityType.EMAIL_CLICKED: 3,
    ActivityType.PAGE_VISITED: 1,
    ActivityType.PRICING_PAGE_VISITED: 5,
    ActivityType.CONTENT_DOWNLOADED: 5,
    ActivityType.WEBINAR_REGISTERED: 5,
    ActivityType.WEBINAR_ATTENDED: 10,
    ActivityType.DEMO_REQUESTED: 20,
    ActivityType.MEETING_HELD: 20,
    ActivityType.CALL_LOGGED: 5,
    ActivityType.FORM_SUBMITTED: 5,
    ActivityType.TRIGGER: 0,
}
"""Engagement points per activity for tracks that do not set their own."""


class Track(_Frozen):
    """One nurture track, versioned: entry conditions, ordered steps, exit rules and what follows."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=80)
    version: int = Field(default=1, ge=1)
    description: Text = ""
    entry: EntryConditions = EntryConditions()
    steps: tuple[Step, ...] = Field(max_length=MAX_STEPS)
    exit: ExitConditions = ExitConditions()
    on_exhaustion: OnExhaustion = OnExhaustion()
    points: Mapping[ActivityType, Annotated[int, Field(le=MAX_POINTS)]] | None = None

    @field_validator("steps")
    @classmethod
    def _has_steps(cls, steps: tuple[Step, ...]) -> tuple[Step, ...]:
        if not steps:
            raise ValueError("a track needs at least one step")
        return steps

    @field_validator("points")
    @classmethod
    def _points_not_negative(
        cls, points: Mapping[ActivityType, int] | None
    ) -> Mapping[ActivityType, int] | None:
        if points is not None:
            negative = sorted(str(activity) for activity, value in points.items() if value < 0)
            if negative:
                raise ValueError(f"engagement points must not be negative ({', '.join(negative)})")
        return points

    def points_for(self, activity: ActivityType) -> int:
        """The engagement points one activity earns on this track."""
        table = DEFAULT_POINTS if self.points is None else {**DEFAULT_POINTS, **self.points}
        return table.get(activity, 0)


def track_set_problems(tracks: Sequence[Track]) -> list[str]:
    """What makes a list of valid tracks an invalid set: duplicate names, unknown or cyclic moves."""
    problems: list[str] = []
    seen: dict[str, int] = {}
    for position, track in enumerate(tracks, start=1):
        if track.name in seen:
            problems.append(f"duplicate track name {track.name!r} (tracks {seen[track.name]} and {position})")
        else:
            seen[track.name] = position
    moves = {t.name: t.on_exhaustion.move_to for t in tracks if t.on_exhaustion.move_to is not None}
    for name, target in moves.items():
        if target not in seen:
            problems.append(f"track {name!r} moves exhausted leads to {target!r}, which does not exist")
    reported: set[str] = set()
    for start in moves:
        path = [start]
        while (following := moves.get(path[-1])) is not None and following in seen:
            if following in path:
                cycle = path[path.index(following) :]
                if not reported & set(cycle):
                    problems.append(
                        "tracks move exhausted leads in a cycle: " + " -> ".join([*cycle, following])
                    )
                    reported |= set(cycle)
                break
            path.append(following)
    return problems


class TrackSet(_Frozen):
    """An organisation's tracks in matching order; the first matching track wins."""

    tracks: tuple[Track, ...]

    @model_validator(mode="after")
    def _consistent(self) -> TrackSet:
        problems = track_set_problems(self.tracks)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def get(self, name: str) -> Track | None:
        """The track with this name, if any."""
        return next((track for track in self.tracks if track.name == name), None)

    def __getitem__(self, name: str) -> Track:
        track = self.get(name)
        if track is None:
            raise KeyError(name)
        return track


class InvalidTrackSet(ValueError):
    """Tracks refused, with one readable message per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid nurture tracks:\n" + "\n".join(f"- {p}" for p in self.problems))


def parse_track_set(data: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> TrackSet:
    """Build a TrackSet from plain data (JSON/YAML), or raise InvalidTrackSet naming every problem."""
    raw_tracks = data.get("tracks", []) if isinstance(data, Mapping) else data
    if isinstance(data, Mapping) and set(data) - {"tracks"}:
        unknown = ", ".join(sorted(repr(k) for k in set(data) - {"tracks"}))
        raise InvalidTrackSet([f"unknown field {unknown} beside 'tracks'"])
    if not isinstance(raw_tracks, Sequence) or isinstance(raw_tracks, str):
        raise InvalidTrackSet(["'tracks' must be a list of tracks"])
    # Replacing the set with nothing would stop every enrollment to come: that is never one slip away.
    if not raw_tracks:
        raise InvalidTrackSet(["'tracks' must name at least one track"])
    if len(raw_tracks) > MAX_ITEMS:
        raise InvalidTrackSet([f"'tracks' holds {len(raw_tracks)} tracks; at most {MAX_ITEMS}"])
    problems: list[str] = []
    tracks: list[Track] = []
    for position, raw in enumerate(raw_tracks, start=1):
        label = _track_label(raw, position)
        try:
            tracks.append(Track.model_validate(raw))
        except ValidationError as error:
            problems.extend(f"{label}: {message}" for message in describe_errors(error))
    if not problems:
        problems.extend(track_set_problems(tracks))
    if problems:
        raise InvalidTrackSet(problems)
    return TrackSet(tracks=tuple(tracks))


def _track_label(raw: Any, position: int) -> str:
    name = raw.get("name") if isinstance(raw, Mapping) else None
    return f"track {name!r}" if isinstance(name, str) and name else f"track {position}"


def describe_errors(error: ValidationError) -> list[str]:
    """Pydantic errors about one track, as sentences that name the field and the problem."""
    messages = []
    for detail in error.errors(include_url=False):
        location = list(detail["loc"])
        field = next((str(part) for part in reversed(location) if isinstance(part, str)), "value")
        kind = detail["type"]
        if kind == "extra_forbidden":
            message = f"unknown field {field!r}"
        elif kind == "enum":
            expected = detail.get("ctx", {}).get("expected", "")
            noun = {"channel": "channel", "reasons": "disqualification reason", "sources": "source"}.get(
                field, field
            )
            message = f"unknown {noun} {detail['input']!r} (expected {expected})"
        elif kind == "missing":
            message = f"{field} is missing"
        else:
            message = f"{field}: " + str(detail["msg"]).removeprefix("Value error, ")
        while location and isinstance(location[-1], int):
            location.pop()
        if location and location[-1] == field:
            location.pop()
        where = _where(location)
        messages.append(f"{where}: {message}" if where else message)
    return messages


def _where(location: list[int | str]) -> str:
    parts: list[str] = []
    for index, part in enumerate(location):
        if isinstance(part, int) and index > 0 and location[index - 1] == "steps":
            parts[-1] = f"step {part + 1}"
        elif isinstance(part, str):
            parts.append(part)
    return ", ".join(parts)


def _step(channel: StepChannel, delay: str, content_ref: str, subject: str) -> Step:
    return Step(channel=channel, delay=Delay.model_validate(delay), content_ref=content_ref, subject=subject)


_NURTURE_SOURCES = frozenset({EntrySource.DISQUALIFIED, EntrySource.NURTURING})

DEFAULT_TRACKS = TrackSet(
    tracks=(
        Track(
            name="newsletter",
            description="Leads without a current need: stay in touch through the newsletter.",
            entry=EntryConditions(
                sources=_NURTURE_SOURCES, reasons=frozenset({DisqualificationReason.NO_NEED})
            ),
            steps=(
                _step(
                    StepChannel.NEWSLETTER_SUBSCRIPTION,
                    "0d",
                    "newsletter/welcome",
                    "Welcome to our newsletter, $first_name",
                ),
                _step(
                    StepChannel.NEWSLETTER_SUBSCRIPTION,
                    "30d",
                    "newsletter/monthly",
                    "What changed this month",
                ),
                _step(
                    StepChannel.NEWSLETTER_SUBSCRIPTION,
                    "30d",
                    "newsletter/monthly",
                    "What changed this month",
                ),
                _step(
                    StepChannel.DRIP_EMAIL, "30d", "newsletter/case-study", "How teams like yours solved it"
                ),
            ),
            exit=ExitConditions(engagement_threshold=15, grace=Delay(days=30)),
        ),
        Track(
            name="webinar",
            description="Leads without authority: webinars to share with the decision maker.",
            entry=EntryConditions(
                sources=_NURTURE_SOURCES, reasons=frozenset({DisqualificationReason.NO_AUTHORITY})
            ),
            steps=(
                _step(StepChannel.WEBINAR_INVITATION, "1d", "webinar/roi-for-leaders", "Live: the ROI case"),
                _step(
                    StepChannel.DRIP_EMAIL,
                    "7d",
                    "webinar/recording",
                    "The recording, to share with your team",
                ),
                _step(
                    StepChannel.WEBINAR_INVITATION, "21d", "webinar/customer-panel", "Join our customer panel"
                ),
            ),
            exit=ExitConditions(engagement_threshold=15, grace=Delay(days=14)),
            on_exhaustion=OnExhaustion(action=ExhaustedNext.MOVE, move_to="newsletter"),
        ),
        Track(
            name="budget-drip",
            description="Leads without budget: a drip building the case for the next budget.",
            entry=EntryConditions(
                sources=_NURTURE_SOURCES, reasons=frozenset({DisqualificationReason.NO_BUDGET})
            ),
            steps=(
                _step(StepChannel.DRIP_EMAIL, "2d", "drip/business-case", "Building the business case"),
                _step(StepChannel.DRIP_EMAIL, "14d", "drip/roi-calculator", "Your numbers, in five minutes"),
                _step(StepChannel.DRIP_EMAIL, "30d", "drip/pricing-options", "Ways to start small"),
                _step(StepChannel.DRIP_EMAIL, "45d", "drip/budget-planning", "Planning next year's budget?"),
            ),
            exit=ExitConditions(engagement_threshold=15, grace=Delay(days=30)),
            on_exhaustion=OnExhaustion(action=ExhaustedNext.MOVE, move_to="newsletter"),
        ),
        Track(
            name="win-back",
            description="Lost opportunities: a cool-down, then a win-back sequence.",
            entry=EntryConditions(sources=frozenset({EntrySource.OPPORTUNITY_LOST})),
            steps=(
                _step(
                    StepChannel.DRIP_EMAIL, "30d", "win-back/whats-new", "What we have shipped since we spoke"
                ),
                _step(
                    StepChannel.WEBINAR_INVITATION, "21d", "win-back/roadmap-webinar", "A look at our roadmap"
                ),
                _step(StepChannel.DRIP_EMAIL, "30d", "win-back/check-in", "Worth another conversation?"),
            ),
            exit=ExitConditions(engagement_threshold=10, grace=Delay(days=30)),
            on_exhaustion=OnExhaustion(action=ExhaustedNext.MOVE, move_to="newsletter"),
        ),
        Track(
            name="re-engage",
            description="Fallback for unresponsive and other nurturable leads: a short re-engagement.",
            entry=EntryConditions(sources=_NURTURE_SOURCES),
            steps=(
                _step(
                    StepChannel.DRIP_EMAIL, "3d", "re-engage/still-relevant", "Is this still on your radar?"
                ),
                _step(StepChannel.DRIP_EMAIL, "14d", "re-engage/best-of", "Our three most useful guides"),
                _step(StepChannel.DRIP_EMAIL, "21d", "re-engage/last-call", "Should we stop writing?"),
            ),
            exit=ExitConditions(engagement_threshold=10, grace=Delay(days=21)),
        ),
    )
)
"""The shipped tracks, in matching order; organisations replace them with their own."""
