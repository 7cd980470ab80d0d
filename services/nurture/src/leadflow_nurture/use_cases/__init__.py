"""nurture: use_cases."""
