"""The four services as detached processes: migrate, serve, wait for readiness, stop."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from leadflow_devstack import procs
from leadflow_devstack.env import SERVICES, Service
from leadflow_devstack.paths import StackPaths

READY_TIMEOUT = 60.0


def venv_bin() -> Path:
    """The bin folder of the virtualenv running this tool, where the service commands are installed."""
    return Path(sys.executable).parent


def _command(service: Service, action: str) -> list[str]:
    executable = venv_bin() / service.command
    if not executable.exists():
        raise procs.StackError(f"{executable} is missing: run `make install`")
    return [str(executable), action]


def _process_env(env: Mapping[str, str]) -> dict[str, str]:
    return {**os.environ, **env, "PYTHONUNBUFFERED": "1"}


def migrate(paths: StackPaths, service: Service, env: Mapping[str, str]) -> None:
    """Run `leadflow-<svc> migrate`; its output is appended to the service's log."""
    paths.ensure()
    log_file = paths.log(service.name)
    with open(log_file, "ab") as log:
        result = subprocess.run(
            _command(service, "migrate"),
            env=_process_env(env),
            cwd=paths.root,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if result.returncode != 0:
        raise procs.StackError(
            f"{service.command} migrate failed (exit {result.returncode}); last lines of {log_file}:\n"
            + procs.tail(log_file)
        )


def is_ready(service: Service, timeout: float = 2.0) -> bool:
    """Whether `GET /health/ready` answers 200."""
    try:
        return httpx.get(f"{service.base_url}/health/ready", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def running_pid(paths: StackPaths, service: Service) -> int | None:
    """The pid of the service process this stack started, if it runs."""
    return procs.running_pid(paths.pid(service.name))


def start(paths: StackPaths, service: Service, env: Mapping[str, str]) -> bool:
    """Start `leadflow-<svc> serve` unless it already runs; True if a new process was started."""
    if running_pid(paths, service) is not None:
        return False
    if procs.port_open("127.0.0.1", service.port):
        raise procs.StackError(f"port {service.port} is taken by a process this stack did not start")
    procs.start_detached(
        _command(service, "serve"),
        log_file=paths.log(service.name),
        pid_file=paths.pid(service.name),
        env=_process_env(env),
        cwd=paths.root,
    )
    return True


def wait_ready(paths: StackPaths, service: Service, timeout: float = READY_TIMEOUT) -> None:
    """Wait until the service is ready; on timeout or exit, fail with the end of its log."""
    deadline = time.monotonic() + timeout
    log_file = paths.log(service.name)
    while time.monotonic() < deadline:
        if running_pid(paths, service) is None:
            raise procs.StackError(
                f"{service.name} exited while starting; last lines of {log_file}:\n" + procs.tail(log_file)
            )
        if is_ready(service):
            return
        time.sleep(0.5)
    raise procs.StackError(
        f"{service.name} not ready on {service.base_url}/health/ready after {timeout:.0f} s; "
        f"last lines of {log_file}:\n" + procs.tail(log_file)
    )


def stop(paths: StackPaths, service: Service) -> bool:
    """SIGTERM the service, wait, then SIGKILL."""
    return procs.stop(paths.pid(service.name), timeout=20.0)


def all_services() -> tuple[Service, ...]:
    """The services in start order."""
    return SERVICES
