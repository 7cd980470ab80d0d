"""opportunity: adapters."""
