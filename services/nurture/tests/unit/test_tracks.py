from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from leadflow_nurture.domain.tracks import (
    DEFAULT_TRACKS,
    Delay,
    EntrySource,
    InvalidTrackSet,
    StepChannel,
    Track,
    TrackSet,
    parse_track_set,
)
from leadflow_shared.contracts.events import DisqualificationReason, ExhaustedNext
from leadflow_shared.contracts.lead import ActivityType

from .builders import step, track_data


def problems_of(data: object) -> list[str]:
    with pytest.raises(InvalidTrackSet) as refused:
        parse_track_set(data)  # type: ignore[arg-type]
    return list(refused.value.problems)


def test_a_valid_configuration_becomes_a_track_set_in_the_order_given() -> None:
    tracks = parse_track_set({"tracks": [track_data("budget-drip"), track_data("newsletter")]})

    assert [track.name for track in tracks.tracks] == ["budget-drip", "newsletter"]
    assert tracks["budget-drip"].steps[1].delay.as_timedelta() == timedelta(days=14)


def test_delays_are_read_from_hours_days_and_weeks() -> None:
    assert Delay.model_validate("48h").as_timedelta() == timedelta(hours=48)
    assert Delay.model_validate("30d").as_timedelta() == timedelta(days=30)
    assert Delay.model_validate("2w").as_timedelta() == timedelta(days=14)
    assert Delay.model_validate({"days": 1, "hours": 6}).as_timedelta() == timedelta(hours=30)


def test_a_track_without_steps_is_refused() -> None:
    assert problems_of([track_data("empty", steps=[])]) == [
        "track 'empty': steps: a track needs at least one step"
    ]


def test_a_negative_delay_is_refused_naming_the_step() -> None:
    data = track_data(steps=[step(delay="2d"), step(delay={"days": -3})])

    [problem] = problems_of([data])

    assert problem.startswith("track 'budget-drip': step 2: delay: must not be negative")


def test_an_unknown_channel_is_refused_naming_the_channel() -> None:
    [problem] = problems_of([track_data(steps=[step(channel="carrier_pigeon")])])

    assert "step 1: unknown channel 'carrier_pigeon'" in problem
    assert "drip_email" in problem


def test_an_unknown_field_is_refused_by_name() -> None:
    problems = problems_of([track_data(colour="teal", entry={"regions": ["EMEA"]})])

    assert "track 'budget-drip': unknown field 'colour'" in problems
    assert "track 'budget-drip': entry: unknown field 'regions'" in problems


def test_a_move_to_a_track_that_does_not_exist_is_refused() -> None:
    data = track_data(on_exhaustion={"action": "move", "move_to": "golf-day-invitations"})

    assert problems_of([data]) == [
        "track 'budget-drip' moves exhausted leads to 'golf-day-invitations', which does not exist"
    ]


def test_a_cycle_of_moves_is_refused_with_its_path() -> None:
    tracks = [
        track_data("webinar", on_exhaustion={"action": "move", "move_to": "budget-drip"}),
        track_data("budget-drip", on_exhaustion={"action": "move", "move_to": "newsletter"}),
        track_data("newsletter", on_exhaustion={"action": "move", "move_to": "webinar"}),
    ]

    assert problems_of(tracks) == [
        "tracks move exhausted leads in a cycle: webinar -> budget-drip -> newsletter -> webinar"
    ]


def test_a_track_moving_leads_to_itself_is_a_cycle() -> None:
    data = track_data("newsletter", on_exhaustion={"action": "move", "move_to": "newsletter"})

    assert problems_of([data]) == ["tracks move exhausted leads in a cycle: newsletter -> newsletter"]


def test_duplicate_track_names_are_refused() -> None:
    assert problems_of([track_data("newsletter"), track_data("newsletter")]) == [
        "duplicate track name 'newsletter' (tracks 1 and 2)"
    ]


def test_every_problem_of_a_configuration_is_reported_at_once() -> None:
    problems = problems_of(
        [
            track_data("empty", steps=[]),
            track_data("odd", steps=[step(channel="fax")], on_exhaustion={"action": "move"}),
        ]
    )

    assert len(problems) == 3
    assert "track 'odd': on_exhaustion: action 'move' needs move_to, the name of the next track" in problems


def test_a_move_without_a_target_and_an_archive_with_one_are_refused() -> None:
    with pytest.raises(ValidationError, match="needs move_to"):
        Track.model_validate(track_data(on_exhaustion={"action": "move"}))
    with pytest.raises(ValidationError, match="cannot also move"):
        Track.model_validate(track_data(on_exhaustion={"action": "archive", "move_to": "newsletter"}))


def test_a_track_set_built_in_code_is_validated_too() -> None:
    track = Track.model_validate(
        track_data("win-back", on_exhaustion={"action": "move", "move_to": "nowhere"})
    )

    with pytest.raises(ValidationError, match="which does not exist"):
        TrackSet(tracks=(track,))


def test_countries_are_iso_codes_and_industries_compare_without_case() -> None:
    track = Track.model_validate(track_data(entry={"countries": ["pt", "BR"], "industries": ["Logistics "]}))

    assert track.entry.countries == frozenset({"PT", "BR"})
    assert track.entry.industries == frozenset({"logistics"})
    with pytest.raises(ValidationError, match="not an ISO 3166 two-letter code"):
        Track.model_validate(track_data(entry={"countries": ["Portugal"]}))


def test_a_track_can_weigh_activities_its_own_way() -> None:
    track = Track.model_validate(track_data(points={"webinar_attended": 15}))

    assert track.points_for(ActivityType.WEBINAR_ATTENDED) == 15
    assert track.points_for(ActivityType.EMAIL_CLICKED) == 3


def test_the_default_tracks_cover_each_nurturable_reason_and_lost_opportunities() -> None:
    names = [track.name for track in DEFAULT_TRACKS.tracks]
    newsletter, webinar, drip, win_back = (DEFAULT_TRACKS[n] for n in names[:4])

    assert names == ["newsletter", "webinar", "budget-drip", "win-back", "re-engage"]
    assert newsletter.entry.reasons == {DisqualificationReason.NO_NEED}
    assert {s.channel for s in newsletter.steps} >= {StepChannel.NEWSLETTER_SUBSCRIPTION}
    assert webinar.entry.reasons == {DisqualificationReason.NO_AUTHORITY}
    assert webinar.steps[0].channel is StepChannel.WEBINAR_INVITATION
    assert drip.entry.reasons == {DisqualificationReason.NO_BUDGET}
    assert win_back.entry.sources == {EntrySource.OPPORTUNITY_LOST}
    assert win_back.steps[0].delay.as_timedelta() == timedelta(days=30)
    assert DEFAULT_TRACKS["re-engage"].on_exhaustion.action is ExhaustedNext.ARCHIVE


def test_a_delay_can_be_written_in_seconds_or_minutes_for_fast_test_tracks() -> None:
    assert Delay.model_validate("5s").as_timedelta() == timedelta(seconds=5)
    assert Delay.model_validate("15m").as_timedelta() == timedelta(minutes=15)
    assert Delay.model_validate({"minutes": 1, "seconds": 30}).as_timedelta() == timedelta(seconds=90)
