"""`GET /v1/people/export`: everything nurture holds about a person (GDPR art. 15/20)."""

from __future__ import annotations

from leadflow_nurture.adapters.person_data import TABLES
from leadflow_shared.person_export import export_router, read_model_resolver

router = export_router("nurture", read_model_resolver(), TABLES)
