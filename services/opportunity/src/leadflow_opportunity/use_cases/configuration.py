"""Reading and replacing the versioned configuration."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from leadflow_opportunity.adapters import config_store
from leadflow_opportunity.adapters.config_store import ConfigKind
from leadflow_opportunity.domain.criteria import OpportunityCriteria
from leadflow_opportunity.domain.stages import LostReasons, StageSet
from leadflow_shared.uow import UnitOfWork

MODELS: dict[ConfigKind, type[BaseModel]] = {
    ConfigKind.CRITERIA: OpportunityCriteria,
    ConfigKind.STAGES: StageSet,
    ConfigKind.LOST_REASONS: LostReasons,
}


async def replace(uow: UnitOfWork, kind: ConfigKind, body: dict[str, Any]) -> BaseModel:
    """Validate a new version (a ValidationError names the problem) and store it as the next one."""
    version = await config_store.next_version(uow.conn, kind)
    model = MODELS[kind].model_validate({**body, "version": version})
    await config_store.store(uow.conn, kind, version, model.model_dump(mode="json"))
    return model
