"""Where judging writes: straight to the database, or collected for many leads and written in bulk."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from leadflow_qualification.adapters import repository as repo
from leadflow_qualification.adapters.repository import DecisionMade, StatusChange
from leadflow_qualification.domain.facts import Activity


class Writes:
    """Each read and write goes to the database at once."""

    def __init__(self, conn: repo.Conn) -> None:
        self.conn = conn

    async def activities(self, lead_id: UUID) -> list[Activity]:
        """Every activity of the lead."""
        return await repo.activities(self.conn, lead_id)

    async def record_decision(self, made: DecisionMade) -> None:
        """Keep a decision and the lead's scores."""
        await repo.record_decisions(self.conn, [made])

    async def change_status(self, change: StatusChange) -> None:
        """Keep a history row and, when it moves the lead, its new status."""
        await repo.change_statuses(self.conn, [change])


class BatchedWrites(Writes):
    """Collects the writes of many leads, in order, and makes them in one statement on flush.

    Deferring is safe because nothing read while judging a group depends on what was written for
    another lead of it; a lead's own rows are written in the order they were made.
    """

    def __init__(self, conn: repo.Conn) -> None:
        super().__init__(conn)
        self._activities: dict[UUID, list[Activity]] = {}
        self._decisions: list[DecisionMade] = []
        self._changes: list[StatusChange] = []

    async def load_activities(self, lead_ids: Iterable[UUID]) -> None:
        """Read the activities of the leads about to be judged, in one query."""
        ids = list(lead_ids)
        found = await repo.activities_of(self.conn, ids)
        self._activities.update({lead_id: found.get(lead_id, []) for lead_id in ids})

    async def activities(self, lead_id: UUID) -> list[Activity]:
        """The activities loaded for the lead (read now if they were not)."""
        if lead_id not in self._activities:
            return await super().activities(lead_id)
        return self._activities[lead_id]

    async def record_decision(self, made: DecisionMade) -> None:
        """Keep the decision for the flush."""
        self._decisions.append(made)

    async def change_status(self, change: StatusChange) -> None:
        """Keep the status change for the flush."""
        self._changes.append(change)

    async def flush(self) -> None:
        """Write what was collected, the decisions, scores, history and statuses, in one statement."""
        decisions, changes = self._decisions, self._changes
        self._decisions, self._changes = [], []
        await repo.write_judgements(self.conn, decisions, changes)
