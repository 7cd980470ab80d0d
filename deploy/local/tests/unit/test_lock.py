"""requirements/*.txt in step with the pins of the packages and dev tools, one version per distribution."""

from __future__ import annotations

import re
import tomllib
from itertools import pairwise

from leadflow_devstack.paths import repo_root

SERVICES = ("intake", "qualification", "opportunity", "nurture")
PACKAGES = ("shared", *(f"services/{s}" for s in SERVICES), "deploy/local")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(\S+?)(?:\s|$)", flags=re.MULTILINE)


def _name(raw: str) -> str:
    return re.sub(r"[-_.]+", "-", raw).lower()


def _pins(text: str) -> dict[str, str]:
    return {_name(name): version for name, version in _PIN.findall(text)}


def _lock(name: str) -> dict[str, str]:
    return _pins((repo_root() / "requirements" / f"{name}.txt").read_text())


def _declared(package: str) -> dict[str, str]:
    project = tomllib.loads((repo_root() / package / "pyproject.toml").read_text())["project"]
    pins = _pins("\n".join(project["dependencies"]))
    return {name: version for name, version in pins.items() if not name.startswith("leadflow-")}


def test_the_root_lock_pins_every_dependency_of_every_package_at_the_version_it_declares():
    lock = _lock("lock")

    for package in PACKAGES:
        declared = _declared(package)
        assert {name: lock.get(name) for name in declared} == declared, f"{package}: run make lock"


def test_the_root_lock_pins_every_dev_tool_at_the_version_asked_for():
    dev = _pins((repo_root() / "deploy" / "local" / "requirements-dev.txt").read_text())
    lock = _lock("lock")

    assert {name: lock.get(name) for name in dev} == dev


def test_each_service_lock_holds_what_its_packages_declare_at_the_root_lock_versions():
    root = _lock("lock")

    for service in SERVICES:
        lock = _lock(service)
        declared = _declared("shared") | _declared(f"services/{service}")
        assert declared.items() <= lock.items(), service
        assert {name: root.get(name) for name in lock} == lock, service


def test_a_service_lock_leaves_out_the_dev_tools():
    for service in SERVICES:
        assert not {"pytest", "mypy", "ruff", "uv"} & _lock(service).keys()


def test_every_locked_distribution_carries_a_hash():
    for name in ("lock", *SERVICES):
        lines = (repo_root() / "requirements" / f"{name}.txt").read_text().splitlines()
        for line, following in pairwise(lines):
            if _PIN.match(line):
                assert following.strip().startswith("--hash=sha256:"), f"{name}: {line}"
