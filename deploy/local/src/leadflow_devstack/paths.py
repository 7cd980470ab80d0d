"""Where the stack keeps its files: everything generated lives under `<repo>/.leadflow/`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_MARKER = Path("deploy") / "kafka" / "pom.xml"


def repo_root() -> Path:
    """Find the repository root: $LEADFLOW_ROOT, else the checkout this package lives in, else the cwd's."""
    override = os.environ.get("LEADFLOW_ROOT")
    if override:
        return Path(override).resolve()
    for start in (Path(__file__).resolve(), Path.cwd().resolve()):
        for candidate in (start, *start.parents):
            if (candidate / _MARKER).is_file():
                return candidate
    raise RuntimeError(
        f"cannot find the leadflow repository (no {_MARKER} above {Path.cwd()}); set LEADFLOW_ROOT"
    )


@dataclass(frozen=True)
class StackPaths:
    """The files and folders of one local stack."""

    root: Path

    @property
    def state(self) -> Path:
        """The folder for everything the stack generates."""
        return self.root / ".leadflow"

    @property
    def env_file(self) -> Path:
        """The environment contract, `KEY=value` lines."""
        return self.state / "env"

    @property
    def token_file(self) -> Path:
        """The API token alone."""
        return self.state / "token"

    @property
    def logs(self) -> Path:
        """The folder of log files."""
        return self.state / "logs"

    @property
    def run(self) -> Path:
        """The folder of pid files."""
        return self.state / "run"

    @property
    def kafka_home(self) -> Path:
        """Kafka's jars, data and rendered config."""
        return self.state / "kafka"

    @property
    def kafka_libs(self) -> Path:
        """The jars Maven copies for Kafka."""
        return self.kafka_home / "libs"

    @property
    def kafka_data(self) -> Path:
        """Kafka's log.dirs."""
        return self.kafka_home / "data"

    @property
    def kafka_config(self) -> Path:
        """The rendered server.properties."""
        return self.kafka_home / "server.properties"

    @property
    def kafka_sources(self) -> Path:
        """The checked-in Kafka files: pom.xml, server.properties, log4j2.properties."""
        return self.root / "deploy" / "kafka"

    def log(self, name: str) -> Path:
        """The log file of one component."""
        return self.logs / f"{name}.log"

    def pid(self, name: str) -> Path:
        """The pid file of one component."""
        return self.run / f"{name}.pid"

    def ensure(self) -> None:
        """Create the state folders."""
        for folder in (self.state, self.logs, self.run, self.kafka_home):
            folder.mkdir(parents=True, exist_ok=True)


def default_paths() -> StackPaths:
    """The paths of the stack of this checkout."""
    return StackPaths(repo_root())
