"""qualification: entrypoints."""
