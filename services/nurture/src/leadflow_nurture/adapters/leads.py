"""The read model of leads nurture keeps from other services' events."""

from leadflow_shared.lead_read_model import lead_view, record_profiles, record_statuses

__all__ = ["lead_view", "record_profiles", "record_statuses"]
