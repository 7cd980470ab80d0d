"""qualification: adapters."""
