"""nurture: entrypoints."""
