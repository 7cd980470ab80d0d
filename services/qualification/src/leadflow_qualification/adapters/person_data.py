"""SQL of the export: everything qualification holds about a person as stored, table by table."""

from __future__ import annotations

OF_LEADS = "lead_id = ANY($1::uuid[])"
TABLES = {
    "leads": "SELECT * FROM leads WHERE id = ANY($1::uuid[]) ORDER BY created_at, id",
    "status_history": f"SELECT * FROM status_history WHERE {OF_LEADS} ORDER BY at",
    "decisions": f"SELECT * FROM decisions WHERE {OF_LEADS} ORDER BY at",
    "activities": f"SELECT * FROM activities WHERE {OF_LEADS} ORDER BY occurred_at",
}
