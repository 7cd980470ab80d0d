"""The read model of leads opportunity keeps from qualification's events."""

from leadflow_shared.lead_read_model import lead_view, record_profiles, record_statuses

__all__ = ["lead_view", "record_profiles", "record_statuses"]
