"""Qualification's schema at head: every index earns its cost on writes."""

from __future__ import annotations

import asyncpg
import pytest

pytestmark = pytest.mark.service


async def test_the_leads_sort_by_creation_keeps_one_index_up_to_date_not_two(pool: asyncpg.Pool) -> None:
    rows = await pool.fetch(
        """
        SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = 'leads'::regclass
          AND x.indkey::text = (
              SELECT string_agg(a.attnum::text, ' ' ORDER BY c.o)
              FROM unnest(ARRAY['created_at', 'id']) WITH ORDINALITY AS c(name, o)
              JOIN pg_attribute a ON a.attrelid = 'leads'::regclass AND a.attname = c.name
          )
        """
    )
    assert [r["relname"] for r in rows] == ["leads_created"]
