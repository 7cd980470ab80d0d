"""Composition root of nurture."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from leadflow_nurture.adapters import kpis
from leadflow_nurture.adapters.smtp import SmtpSender
from leadflow_nurture.adapters.tracks import TrackStore
from leadflow_nurture.domain.delivery import RetryPolicy
from leadflow_nurture.domain.email import Sender
from leadflow_nurture.entrypoints import consumers, export, http
from leadflow_nurture.settings import MissingSecret, NurtureSettings
from leadflow_nurture.use_cases.scheduler import SchedulerConfig, run_scheduler
from leadflow_shared.runtime import BackgroundTask, Runtime, ServiceDefinition
from leadflow_shared.totals import folder

MIGRATIONS = Path(__file__).parent / "migrations"


def definition(settings: NurtureSettings) -> ServiceDefinition:
    """Wire nurture's subscriptions, routes, touch scheduler and the job that folds the KPI totals."""
    try:
        links = settings.unsubscribe_links()
    except MissingSecret as error:
        raise SystemExit(str(error)) from None
    store = TrackStore()
    config = SchedulerConfig(
        sender=Sender(
            email=settings.sender_email,
            display_name=settings.sender_name,
            unsubscribe_url=settings.public_url,
            unsubscribe_mailto=settings.unsubscribe_mailto,
        ),
        links=links,
        batch_size=settings.scheduler_batch_size,
        lease=timedelta(seconds=settings.scheduler_lease_s),
        margin=settings.send_margin,
        retry=RetryPolicy(
            max_attempts=settings.scheduler_max_attempts,
            first_delay=timedelta(seconds=settings.scheduler_retry_delay_s),
            max_delay=timedelta(seconds=settings.scheduler_max_retry_delay_s),
        ),
    )

    async def touch_scheduler(runtime: Runtime) -> None:
        """Send due touches and exhaust quiet enrollments until the service stops."""
        await run_scheduler(
            runtime.uow,
            store,
            SmtpSender(settings),
            config,
            settings.scheduler_poll_interval_s,
            runtime.stopping,
        )

    background: list[BackgroundTask] = [folder(kpis.TOTALS)]
    if settings.scheduler_enabled:
        background.append(touch_scheduler)
    return ServiceDefinition(
        title="leadflow nurture",
        description=(
            "Puts every unqualified lead on a nurture path and brings it back when its situation changes."
        ),
        settings=settings,
        subscriptions=consumers.subscriptions(store),
        routers=[http.router, http.unsubscribe_router, export.router],
        background=background,
        state={"tracks": store, "unsubscribe_links": links},
    )
