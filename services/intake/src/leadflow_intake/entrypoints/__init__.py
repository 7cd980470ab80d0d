"""intake: entrypoints."""
