"""intake: use_cases."""
