"""Vivid nurture test data: tracks, leads and enrollments built in one place."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from leadflow_nurture.domain.enrollment import Enrollment, start_enrollment
from leadflow_nurture.domain.tracks import Track
from leadflow_shared.contracts.lead import ContactChannel

MONDAY_MORNING = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ANA_ID = UUID("5f0c2b1e-7a43-4d6e-9b1f-2c8d3e4f5a60")
ENROLLMENT_ID = UUID("a1b2c3d4-0000-4000-8000-000000000001")


def step(channel: str = "drip_email", delay: Any = "0d", ref: str = "drip/business-case") -> dict[str, Any]:
    """A step as an organisation writes it in its track configuration."""
    return {"channel": channel, "delay": delay, "content_ref": ref, "subject": "Building the business case"}


def track_data(name: str = "budget-drip", **fields: Any) -> dict[str, Any]:
    """A track as plain data, with three drip emails 2, 14 and 30 days apart unless told otherwise."""
    data: dict[str, Any] = {
        "name": name,
        "steps": [
            step(delay="2d", ref="drip/business-case"),
            step(delay="14d", ref="drip/roi-calculator"),
            step(delay="30d", ref="drip/pricing-options"),
        ],
        "exit": {"engagement_threshold": 15, "grace": "14d"},
    }
    data.update(fields)
    return data


def budget_drip(**fields: Any) -> Track:
    """The budget drip track, validated."""
    return Track.model_validate(track_data(**fields))


def ana_on(track: Track, opted_out: frozenset[ContactChannel] = frozenset()) -> Enrollment:
    """Ana Ferreira, enrolled on a track on a Monday morning."""
    return start_enrollment(ENROLLMENT_ID, ANA_ID, track, MONDAY_MORNING, opted_out)
