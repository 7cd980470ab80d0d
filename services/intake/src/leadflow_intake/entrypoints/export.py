"""`GET /v1/people/export`: everything intake holds about a person (GDPR art. 15/20)."""

from __future__ import annotations

from leadflow_intake.adapters.person_data import TABLES, person
from leadflow_shared.person_export import export_router

router = export_router("intake", person, TABLES)
