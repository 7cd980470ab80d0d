"""nurture: adapters."""
