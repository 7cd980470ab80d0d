"""A vendor API that is down holds a delivery back for a while, then lets it go to quarantine."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from leadflow_shared.consumer import Retry
from leadflow_shared.contracts.envelope import new_event
from leadflow_shared.contracts.events import RawLeadSubmitted

from .conftest import Intake
from .test_webhooks import meta


def meta_delivery_with_the_graph_api_down(intake: Intake) -> RawLeadSubmitted:
    delivery = meta(uuid.uuid4().hex[:12], intake.vendor)
    for path in list(intake.vendor.routes):
        if path.startswith("/meta/"):
            intake.vendor.routes[path] = (503, {"error": {"message": "Service temporarily unavailable"}})
    return RawLeadSubmitted(source="meta", payload=json.loads(delivery.body), received_id=uuid.uuid4())


async def test_a_delivery_whose_vendor_is_down_is_retried_within_the_window(intake: Intake) -> None:
    raw = meta_delivery_with_the_graph_api_down(intake)
    envelope = new_event(raw, source="intake")
    with pytest.raises(Retry, match="503"):
        await intake.handle(envelope)


async def test_a_delivery_whose_vendor_stays_down_past_the_window_goes_to_quarantine(intake: Intake) -> None:
    raw = meta_delivery_with_the_graph_api_down(intake)
    long_ago = datetime.now(UTC) - timedelta(seconds=intake.settings.vendor_retry_window_s + 60)
    envelope = new_event(raw, source="intake").model_copy(update={"time": long_ago})
    await intake.handle(envelope)
    rows = await intake.pool.fetch("SELECT reason, payload FROM rejections WHERE source_system = 'meta'")
    reasons = [row["reason"] for row in rows if row["payload"] == raw.payload]
    assert reasons, "the delivery is kept in quarantine"
    assert "vendor API unavailable" in reasons[0]
