"""qualification: use_cases."""
