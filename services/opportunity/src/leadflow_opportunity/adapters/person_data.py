"""SQL of the export: everything opportunity holds about a person as stored, table by table."""

from __future__ import annotations

OF_LEADS = "lead_id = ANY($1::uuid[])"
TABLES = {
    "leads": "SELECT * FROM leads WHERE id = ANY($1::uuid[]) ORDER BY id",
    "contacts": f"SELECT * FROM contacts WHERE {OF_LEADS} ORDER BY created_at",
    "accounts": f"SELECT * FROM accounts WHERE id IN (SELECT account_id FROM contacts WHERE {OF_LEADS})",
    "converted_leads": f"SELECT * FROM converted_leads WHERE {OF_LEADS}",
    "opportunities": f"SELECT * FROM opportunities WHERE {OF_LEADS} ORDER BY opened_at",
    "stage_history": "SELECT * FROM stage_history WHERE opportunity_id IN"
    f" (SELECT id FROM opportunities WHERE {OF_LEADS}) ORDER BY at",
}
