import io
import time
from datetime import UTC, datetime

from leadflow_intake.domain.csv_import import CsvLead, CsvRowError, import_csv, map_headers
from leadflow_shared.contracts.lead import Channel


def rows(text: str, **kwargs):
    return list(import_csv(io.StringIO(text), import_id="hannover-messe-2025", **kwargs))


def test_a_german_export_with_bom_semicolons_and_multiline_notes_is_read():
    text = (
        "\ufeffVorname;Nachname;Firma;E-Mail;Telefon;Land;Notizen\n"
        "Dana;Kovacs;Acme GmbH;dana@acme.example;030 1234567;Deutschland;"
        '"Wants a demo\nafter the fair; call Tuesday"\n'
        "Jonas;Weber;Kovacs Logistik;jonas@kovacs-logistik.de;;DE;\n"
    )
    result = rows(text)
    assert all(isinstance(r, CsvLead) for r in result)
    first = result[0].submission
    assert (first.first_name, first.last_name, first.company, first.email) == (
        "Dana",
        "Kovacs",
        "Acme GmbH",
        "dana@acme.example",
    )
    assert first.custom_fields["Notizen"] == "Wants a demo\nafter the fair; call Tuesday"
    assert first.channel is Channel.TRADE_SHOW
    assert first.source_system == "csv"
    assert first.source_id == "hannover-messe-2025:2"
    assert result[1].submission.source_id == "hannover-messe-2025:3"


def test_an_english_comma_export_maps_common_headers():
    text = (
        "Email Address,First Name,Last Name,Company,Job Title,Country,Phone,"
        "Budget,Timeframe,Opt-In,Scan Date\n"
        "dana@acme.example,Dana,Kovacs,Acme Inc.,VP Sales,USA,+14155550123,50k,Q3,yes,2025-03-04 10:15\n"
    )
    (row,) = rows(text, channel=Channel.IMPORT)
    assert isinstance(row, CsvLead)
    s = row.submission
    assert (s.job_title, s.country, s.phone) == ("VP Sales", "USA", "+14155550123")
    assert (s.answers.budget, s.answers.timeline) == ("50k", "Q3")
    assert s.consent.email is True
    assert s.channel is Channel.IMPORT
    assert s.submitted_at == datetime(2025, 3, 4, 10, 15, tzinfo=UTC)


def test_a_row_without_email_or_phone_is_a_row_error_and_the_rest_still_flow():
    text = "E-Mail,Vorname,Firma\n,Dana,Acme\nbob@acme.example,Bob,Acme\n"
    result = rows(text)
    assert result[0] == CsvRowError(2, "row has neither an email nor a phone")
    assert isinstance(result[1], CsvLead)


def test_a_row_with_more_cells_than_headers_is_a_row_error():
    result = rows("Email,Name\ndana@acme.example,Dana,Kovacs,extra\n")
    assert isinstance(result[0], CsvRowError)
    assert "cells" in result[0].message


def test_a_file_without_an_email_or_phone_column_is_refused_at_the_header():
    assert rows("Name;Firma\nDana;Acme\n") == [
        CsvRowError(1, "no email or phone column among the headers ['Name', 'Firma']")
    ]


def test_an_empty_file_is_a_header_error():
    assert rows("") == [CsvRowError(1, "the file is empty or has no header row")]


def test_excel_serial_scan_dates_are_read():
    (row,) = rows("Email;Scan Date\ndana@acme.example;45720.5\n")
    assert isinstance(row, CsvLead)
    assert row.submission.submitted_at == datetime(2025, 3, 4, 12, 0, tzinfo=UTC)


def test_header_overrides_map_event_specific_columns():
    assert map_headers(["Kontakt-Mail", "Org"], {"Kontakt-Mail": "email"}) == {0: "email", 1: "company"}


def test_ten_thousand_rows_stream_quickly():
    header = "Email;First Name;Last Name;Company;Phone\n"
    body = "".join(
        f"lead{i}@acme.example;Dana;Kovacs {i};Acme GmbH;+1415555{i % 10000:04d}\n" for i in range(10_000)
    )
    started = time.perf_counter()
    count = sum(1 for r in import_csv(io.StringIO(header + body), import_id="big") if isinstance(r, CsvLead))
    assert count == 10_000
    assert time.perf_counter() - started < 5
