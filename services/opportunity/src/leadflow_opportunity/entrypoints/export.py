"""`GET /v1/people/export`: everything opportunity holds about a person (GDPR art. 15/20)."""

from __future__ import annotations

from leadflow_opportunity.adapters.person_data import TABLES
from leadflow_shared.person_export import export_router, read_model_resolver

router = export_router(
    "opportunity", read_model_resolver("SELECT lead_id FROM contacts WHERE lower(email) = $1"), TABLES
)
