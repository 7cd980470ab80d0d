"""JSON bodies are held to a nesting depth, 64-bit integers and strings PostgreSQL and UTF-8 can store."""

from __future__ import annotations

import json

from leadflow_shared.json_bounds import JsonProblem, parse_bounded


def nested(depth: int) -> bytes:
    return ("[" * depth + "]" * depth).encode()


def test_a_lead_submission_within_every_bound_passes() -> None:
    body = json.dumps(
        {
            "first_name": "Dana",
            "email": "dana@acme-robotics.example",
            "answers": {"budget": "50-100k", "timeline": None},
            "custom_fields": {"employees": 9_223_372_036_854_775_807, "score": -12.5, "tags": ["a", "b"]},
            "consent": {"email": True},
        }
    ).encode()
    assert parse_bounded(body) is None


def test_nesting_up_to_the_limit_passes_and_one_level_more_is_named() -> None:
    assert parse_bounded(nested(32)) is None
    problem = parse_bounded(nested(33))
    assert problem is not None
    assert problem.message == "nested deeper than 32 levels"
    assert problem.field == "[0]" * 32


def test_nesting_deeper_than_the_parser_can_recurse_is_a_depth_problem_not_a_crash() -> None:
    assert parse_bounded(nested(200_000)) == JsonProblem("body", "nested deeper than 32 levels")


def test_integers_outside_signed_64_bits_are_named_with_their_path() -> None:
    assert parse_bounded(b'{"n": -9223372036854775808}') is None
    assert parse_bounded(b'{"custom_fields": {"id": 18446744073709551616}}') == JsonProblem(
        "custom_fields.id", "integer outside the signed 64-bit range"
    )
    assert parse_bounded(b'{"ids": [1, -9223372036854775809]}') == JsonProblem(
        "ids[1]", "integer outside the signed 64-bit range"
    )


def test_a_nul_character_in_a_string_is_named_with_its_path() -> None:
    assert parse_bounded(b'{"answers": {"need": "robots\\u0000"}}') == JsonProblem(
        "answers.need", "string contains a NUL character (\\u0000)"
    )


def test_a_lone_surrogate_in_a_string_is_named_but_a_proper_pair_passes() -> None:
    assert parse_bounded(b'{"company": "Acme \\ud83e\\udd16"}') is None
    assert parse_bounded(b'{"company": "Acme \\ud83e"}') == JsonProblem(
        "company", "string contains a lone surrogate (\\ud83e)"
    )
    assert parse_bounded(b'["ok", "\\udc00"]') == JsonProblem(
        "[1]", "string contains a lone surrogate (\\udc00)"
    )


def test_a_bad_key_is_named_by_the_key_itself_escaped_so_the_answer_can_be_written() -> None:
    assert parse_bounded(b'{"custom_fields": {"x\\u0000": 1}}') == JsonProblem(
        "custom_fields.x\x00", "key contains a NUL character (\\u0000)"
    )
    problem = parse_bounded(b'{"\\ud800": 1}')
    assert problem == JsonProblem("\\ud800", "key contains a lone surrogate (\\ud800)")
    problem.field.encode("utf-8")


def test_nan_infinity_and_overflowing_floats_are_refused() -> None:
    assert parse_bounded(b'{"amount": NaN}') == JsonProblem("body", "NaN is not a JSON number")
    assert parse_bounded(b"[-Infinity]") == JsonProblem("body", "-Infinity is not a JSON number")
    assert parse_bounded(b'{"amount": 1e400}') == JsonProblem("amount", "number too large to represent")


def test_what_is_not_json_is_left_to_the_route_to_answer() -> None:
    assert parse_bounded(b'{"first_name": ') is None
    assert parse_bounded(b"\xff\xfe not utf-8") is None


def test_a_raw_utf8_encoded_surrogate_is_caught_as_well_as_an_escaped_one() -> None:
    assert parse_bounded(b'{"company": "Acme \xed\xa0\xbd"}') == JsonProblem(
        "company", "string contains a lone surrogate (\\ud83d)"
    )


def test_many_shallow_lists_and_suspicious_looking_strings_are_within_bounds() -> None:
    body = json.dumps(
        {
            "tags": [[n] for n in range(100)],
            "note": "NaN Infinity \\u0000 1e999 12345678901234567890 are just words here",
        }
    ).encode()
    assert parse_bounded(body) is None


def test_an_integer_of_thousands_of_digits_is_out_of_range_not_an_error() -> None:
    assert parse_bounded(b'{"n": ' + b"9" * 100_000 + b"}") == JsonProblem(
        "n", "integer outside the signed 64-bit range"
    )
