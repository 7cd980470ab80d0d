"""nurture: domain."""
