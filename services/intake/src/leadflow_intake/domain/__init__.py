"""intake: domain."""
