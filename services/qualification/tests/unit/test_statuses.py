import pytest

from leadflow_qualification.domain.statuses import (
    DEFAULT_CATALOG,
    BaseCategory,
    InvalidCustomStatus,
    StatusCatalog,
    TransitionNotAllowed,
    UnknownStatus,
    category_path,
    check_transition,
)


def test_the_default_catalog_ships_seven_statuses_with_nurturing_as_a_custom_one():
    assert DEFAULT_CATALOG.names == (
        "open",
        "contacted",
        "qualified",
        "unqualified",
        "nurturing",
        "converted",
        "archived",
    )
    assert DEFAULT_CATALOG.get("nurturing").custom
    assert DEFAULT_CATALOG.get("nurturing").category is BaseCategory.NURTURING


def test_converted_and_archived_are_terminal_and_the_rest_are_not():
    terminal = {s.name for s in DEFAULT_CATALOG.statuses if s.terminal}
    assert terminal == {"converted", "archived"}


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("open", "contacted"),
        ("open", "archived"),
        ("contacted", "qualified"),
        ("qualified", "converted"),
        ("qualified", "unqualified"),
        ("unqualified", "open"),
        ("nurturing", "qualified"),
        ("archived", "open"),
    ],
)
def test_a_lead_may_take_each_allowed_step(current, target):
    assert check_transition(DEFAULT_CATALOG, current, target).name == target


def test_a_converted_lead_cannot_go_anywhere():
    with pytest.raises(TransitionNotAllowed) as refused:
        check_transition(DEFAULT_CATALOG, "converted", "open")
    assert refused.value.current == "converted"
    assert refused.value.allowed == ()


def test_a_qualified_lead_cannot_jump_back_to_open_and_the_error_lists_where_it_may_go():
    with pytest.raises(TransitionNotAllowed) as refused:
        check_transition(DEFAULT_CATALOG, "qualified", "open")
    assert refused.value.allowed == ("unqualified", "converted")
    assert "cannot move to 'open'" in str(refused.value)


def test_an_archived_lead_can_only_be_reopened():
    assert DEFAULT_CATALOG.allowed_targets("archived") == ("open",)


def test_a_new_lead_enters_the_pipeline_as_open():
    assert DEFAULT_CATALOG.allowed_targets(None) == ("open",)
    with pytest.raises(TransitionNotAllowed):
        check_transition(DEFAULT_CATALOG, None, "qualified")


def test_an_unknown_status_is_refused_with_the_known_ones():
    with pytest.raises(UnknownStatus, match="known statuses: open, contacted"):
        check_transition(DEFAULT_CATALOG, "open", "hot")


def test_a_custom_status_follows_the_transitions_of_its_base_category():
    catalog = DEFAULT_CATALOG.with_custom_status("meeting_booked", "contacted", "first call scheduled")
    assert check_transition(catalog, "open", "meeting_booked").category is BaseCategory.CONTACTED
    assert check_transition(catalog, "meeting_booked", "qualified").name == "qualified"
    with pytest.raises(TransitionNotAllowed):
        check_transition(catalog, "meeting_booked", "converted")


def test_moving_between_two_statuses_of_one_working_category_is_progress():
    catalog = DEFAULT_CATALOG.with_custom_status("meeting_booked", "contacted")
    assert check_transition(catalog, "contacted", "meeting_booked").name == "meeting_booked"
    with pytest.raises(TransitionNotAllowed):
        check_transition(catalog, "contacted", "contacted")


def test_a_second_terminal_status_in_a_category_is_not_reachable_from_the_first():
    catalog = DEFAULT_CATALOG.with_custom_status("closed_duplicate", "archived")
    assert "closed_duplicate" not in catalog.allowed_targets("archived")
    assert "closed_duplicate" in catalog.allowed_targets("open")


def test_the_first_status_of_a_category_stays_its_default():
    catalog = DEFAULT_CATALOG.with_custom_status("meeting_booked", "contacted")
    assert catalog.default_for(BaseCategory.CONTACTED).name == "contacted"


def test_a_custom_status_on_an_unknown_base_category_is_refused():
    with pytest.raises(InvalidCustomStatus, match="unknown base category 'hot'"):
        DEFAULT_CATALOG.with_custom_status("on_fire", "hot")


def test_a_custom_status_with_a_taken_name_is_refused():
    with pytest.raises(InvalidCustomStatus, match="already exists"):
        DEFAULT_CATALOG.with_custom_status("qualified", "qualified")


def test_a_custom_status_with_spaces_in_its_name_is_refused():
    with pytest.raises(InvalidCustomStatus, match="lower_snake_case"):
        DEFAULT_CATALOG.with_custom_status("Meeting Booked", "contacted")


def test_a_stored_catalog_missing_a_category_is_refused():
    with pytest.raises(ValueError, match="missing: converted"):
        StatusCatalog(statuses=tuple(s for s in DEFAULT_CATALOG.statuses if s.name != "converted"))


def test_the_shortest_way_from_qualified_to_nurturing_passes_unqualified():
    assert category_path(BaseCategory.QUALIFIED, BaseCategory.NURTURING) == (
        BaseCategory.UNQUALIFIED,
        BaseCategory.NURTURING,
    )


def test_requalifying_an_unqualified_lead_reopens_it_first():
    assert category_path(BaseCategory.UNQUALIFIED, BaseCategory.QUALIFIED) == (
        BaseCategory.OPEN,
        BaseCategory.QUALIFIED,
    )


def test_nothing_leads_out_of_converted():
    assert category_path(BaseCategory.CONVERTED, BaseCategory.OPEN) is None
