"""opportunity: entrypoints."""
