from __future__ import annotations

from leadflow_shared.db import columns, columns_by_key


def test_rows_become_columns_for_unnest_in_the_order_their_keys_first_came() -> None:
    rows = [("ada", "contacted", "open"), ("grace", "qualified", "qualified")]

    assert columns_by_key(rows) == [["ada", "grace"], ["contacted", "qualified"], ["open", "qualified"]]


def test_a_key_given_twice_keeps_its_last_row_as_upserting_each_in_turn_would() -> None:
    rows = [("ada", "contacted"), ("grace", "nurturing"), ("ada", "qualified")]

    assert columns_by_key(rows) == [["ada", "grace"], ["qualified", "nurturing"]]


def test_a_key_given_twice_can_keep_its_first_row_where_rows_only_fill_what_is_unset() -> None:
    rows = [("ada", "from intake"), ("ada", "from qualification")]

    assert columns_by_key(rows, keep="first") == [["ada"], ["from intake"]]


def test_no_rows_give_no_columns() -> None:
    assert columns_by_key([]) == []


def test_rows_of_one_width_become_its_columns_in_order_and_none_become_empty_columns() -> None:
    assert columns([(1, "a"), (2, "b"), (1, "c")], 2) == [[1, 2, 1], ["a", "b", "c"]]
    assert columns([], 3) == [[], [], []]
