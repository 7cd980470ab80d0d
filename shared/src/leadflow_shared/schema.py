"""DDL every service's first migration runs: the outbox and the inbox of its schema."""

from __future__ import annotations

from leadflow_shared.inbox import INBOX_DDL
from leadflow_shared.outbox import OUTBOX_DDL

MESSAGING_DDL = OUTBOX_DDL + INBOX_DDL
