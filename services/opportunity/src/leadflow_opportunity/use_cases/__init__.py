"""opportunity: use_cases."""
