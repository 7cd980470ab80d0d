"""qualification: domain."""
