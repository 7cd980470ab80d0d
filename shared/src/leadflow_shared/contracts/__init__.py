"""Event contracts: the CloudEvents envelope, the canonical lead and one model per event type."""
