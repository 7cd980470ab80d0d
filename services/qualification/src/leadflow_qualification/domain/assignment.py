"""Who owns a lead: rules route it to a team, round-robin picks a member under the open-lead cap."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from leadflow_shared.bounds import MAX_INT, MAX_ITEMS, Name, Names
from leadflow_shared.contracts.lead import LeadProfile


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Team(_Frozen):
    """A sales team: its members in round-robin order and how many open leads one member may hold."""

    name: Name
    members: Names = Field(min_length=1)
    max_open_leads: int | None = Field(default=None, gt=0, le=MAX_INT, description="per member; None: no cap")

    @field_validator("members")
    @classmethod
    def _unique(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("a member appears twice in the team")
        return value


class RoutingRule(_Frozen):
    """Leads from these countries and/or industries go to `team`; an empty list matches anything."""

    team: Name
    countries: Names = ()
    industries: Names = ()

    @field_validator("countries")
    @classmethod
    def _upper(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.strip().upper() for v in value)

    @field_validator("industries")
    @classmethod
    def _lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(" ".join(v.lower().split()) for v in value)

    def matches(self, profile: LeadProfile) -> bool:
        """Whether the lead's country and industry fit this rule."""
        country = (profile.country or "").strip().upper()
        industry = " ".join((profile.industry or "").lower().split())
        country_ok = not self.countries or country in self.countries
        industry_ok = not self.industries or industry in self.industries
        return country_ok and industry_ok


class AssignmentPolicy(_Frozen):
    """An organisation's routing: ordered rules (first match wins), teams, and a team for the rest."""

    rules: tuple[RoutingRule, ...] = Field(default=(), max_length=MAX_ITEMS)
    teams: tuple[Team, ...] = Field(min_length=1, max_length=MAX_ITEMS)
    default_team: Name

    @model_validator(mode="after")
    def _teams_exist(self) -> Self:
        names = [t.name for t in self.teams]
        if len(set(names)) != len(names):
            raise ValueError("team names must be unique")
        unknown = sorted(
            {r.team for r in self.rules if r.team not in names} | {self.default_team} - set(names)
        )
        if unknown:
            raise ValueError(f"rules name unknown teams: {unknown}")
        return self

    def team(self, name: str) -> Team:
        """The team called `name`."""
        return next(t for t in self.teams if t.name == name)


class TeamState(_Frozen):
    """What the assigner needs to know about a team now: open leads per member and who got the last lead."""

    open_leads: Mapping[str, int] = Field(default_factory=dict)
    last_assigned_index: int | None = None


class Assignment(_Frozen):
    """The chosen team and owner (None when every member is at the cap), and the index to remember."""

    team: str
    owner: str | None
    member_index: int | None
    reason: str


def route(policy: AssignmentPolicy, profile: LeadProfile) -> tuple[Team, str]:
    """The team for this lead and why."""
    for position, rule in enumerate(policy.rules, start=1):
        if rule.matches(profile):
            return policy.team(rule.team), f"routing rule {position} ({rule.team})"
    return policy.team(policy.default_team), f"default team ({policy.default_team})"


def choose_owner(team: Team, state: TeamState) -> tuple[str, int] | None:
    """The next member after the last one assigned who is under the cap, with their index; None: all full."""
    size = len(team.members)
    start = 0 if state.last_assigned_index is None else (state.last_assigned_index + 1) % size
    for step in range(size):
        index = (start + step) % size
        member = team.members[index]
        if team.max_open_leads is None or state.open_leads.get(member, 0) < team.max_open_leads:
            return member, index
    return None


def assign(policy: AssignmentPolicy, profile: LeadProfile, states: Mapping[str, TeamState]) -> Assignment:
    """Route the lead to a team and pick its owner by round-robin under the cap."""
    team, why = route(policy, profile)
    chosen = choose_owner(team, states.get(team.name, TeamState()))
    if chosen is None:
        return Assignment(
            team=team.name,
            owner=None,
            member_index=None,
            reason=f"{why}; every member holds {team.max_open_leads} open leads already",
        )
    owner, index = chosen
    return Assignment(team=team.name, owner=owner, member_index=index, reason=f"{why}; round-robin")
