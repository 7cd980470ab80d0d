"""`leadflow import FILE.csv` uploads a trade-show list to the intake process and reports the bad rows."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from leadflow_devstack.testing import Db, ServiceProcess, TestStack, bin_path, wait_until

pytestmark = pytest.mark.e2e


async def test_the_import_command_uploads_a_csv_shows_progress_and_lists_the_bad_rows(
    test_stack: TestStack, running_services: dict[str, ServiceProcess], tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    rows = ["Vorname;Nachname;E-Mail;Firma;Land"]
    rows += [
        f"Lise;Meitner {n};lise.{tag}.{n}@kernphysik.example;Kernphysik GmbH;Deutschland" for n in range(40)
    ]
    rows += [f"Otto;Hahn;not-an-email-{n};Kernphysik GmbH;Deutschland" for n in range(2)]
    csv_file = tmp_path / "messe-2026.csv"
    csv_file.write_text("\ufeff" + "\n".join(rows) + "\n", encoding="utf-8")

    process = await asyncio.create_subprocess_exec(
        bin_path("leadflow"),
        "import",
        str(csv_file),
        "--url",
        running_services["intake"].url,
        "--token",
        test_stack.tokens["write"],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    text = " ".join(output.decode().split())  # rich wraps lines at the terminal width
    assert process.returncode == 0, text
    assert "42/42" in text, "the progress bar reaches every row"
    assert "40 leads submitted, 2 rows failed" in text
    assert "row 42: email: 'not-an-email-0' is not a valid email address" in text
    assert "row 43: email: 'not-an-email-1'" in text

    intake = Db(test_stack, "intake")
    captured = await wait_until(
        lambda: intake.fetchval("SELECT count(*) FROM leads WHERE email LIKE $1", f"lise.{tag}.%")
    )
    assert captured >= 1
    await wait_until(
        lambda: _equals(intake, "SELECT count(*) FROM leads WHERE email LIKE $1", f"lise.{tag}.%", 40),
        within=60,
    )


async def _equals(db: Db, query: str, arg: object, n: int) -> bool:
    return int(await db.fetchval(query, arg)) == n
