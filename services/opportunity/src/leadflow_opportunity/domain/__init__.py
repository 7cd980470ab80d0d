"""opportunity: domain."""
