"""intake: adapters."""
