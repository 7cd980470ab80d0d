"""SQL of the export: everything nurture holds about a person as stored, table by table."""

from __future__ import annotations

OF_LEADS = "lead_id = ANY($1::uuid[])"
TABLES = {
    "leads": "SELECT * FROM leads WHERE id = ANY($1::uuid[]) ORDER BY id",
    "enrollments": f"SELECT * FROM enrollments WHERE {OF_LEADS} ORDER BY started_at",
    "touches": f"SELECT * FROM touches WHERE {OF_LEADS} ORDER BY due_at",
    "consent": f"SELECT * FROM consent WHERE {OF_LEADS} ORDER BY changed_at",
    "archives": f"SELECT * FROM archives WHERE {OF_LEADS}",
    "undeliverable": "SELECT u.* FROM undeliverable u JOIN leads l ON u.email = lower(l.profile->>'email')"
    " WHERE l.id = ANY($1::uuid[])",
}
