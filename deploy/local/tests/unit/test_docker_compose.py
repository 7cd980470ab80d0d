"""docker-compose.yml and the Kubernetes topics Job in step with the topic catalogue and the init script."""

from __future__ import annotations

import re

from leadflow_devstack.cli import DOCKER_PASSWORDS
from leadflow_devstack.paths import repo_root
from leadflow_devstack.postgres import TUNING
from leadflow_shared.contracts.topics import all_topics, topic_config


def _compose() -> str:
    return (repo_root() / "docker-compose.yml").read_text()


def test_the_one_shot_topic_service_creates_every_topic_of_the_catalogue():
    listed = re.findall(r"^ {10}([a-z][a-z.]*[a-z]) \\$", _compose(), flags=re.MULTILINE)

    assert sorted(listed) == sorted(all_topics(""))


def test_the_one_shot_topic_service_gives_every_topic_the_retention_of_the_catalogue():
    [given] = re.findall(r"--add-config (\S+)$", _compose(), flags=re.MULTILINE)

    assert dict(pair.split("=") for pair in given.split(",")) == topic_config("intake.events")


def test_the_kubernetes_topics_job_creates_every_topic_with_the_same_retention():
    job = (repo_root() / "deploy" / "k8s" / "topics.yaml").read_text()
    listed = re.findall(r"^ {16}([a-z][a-z.]*[a-z]) \\$", job, flags=re.MULTILINE)
    [given] = re.findall(r"--add-config (\S+)$", job, flags=re.MULTILINE)

    assert sorted(listed) == sorted(all_topics(""))
    assert dict(pair.split("=") for pair in given.split(",")) == topic_config("nurture.events")


def test_each_service_connects_with_the_password_the_init_script_gives_its_role():
    compose = _compose()

    for role, password in DOCKER_PASSWORDS.items():
        assert f"postgresql://{role}:{password}@postgres:5432/leadflow" in compose


def test_the_postgres_container_runs_with_the_settings_the_local_stack_writes():
    compose = _compose()

    for name, value in TUNING.items():
        assert f"-c {name}={value}" in compose


SERVICES = ("intake", "qualification", "opportunity", "nurture")


def _pip_installs(service: str) -> list[str]:
    dockerfile = (repo_root() / "services" / service / "Dockerfile").read_text()
    return re.findall(r"^RUN (pip install .*)$", dockerfile, flags=re.MULTILINE)


def test_each_service_image_installs_its_own_lock_hash_checked_before_any_package():
    for service in SERVICES:
        installs = _pip_installs(service)

        assert installs[0] == f"pip install --require-hashes --no-deps -r /app/requirements/{service}.txt"
        assert (repo_root() / "requirements" / f"{service}.txt").is_file()


def test_no_service_image_lets_pip_resolve_a_dependency_the_lock_does_not_pin():
    for service in SERVICES:
        installs = _pip_installs(service)

        assert len(installs) == 3
        assert all("--no-deps" in install for install in installs), service
        assert installs[-1].endswith("&& pip check")


def test_the_lock_files_are_left_in_the_build_context():
    lines = (repo_root() / ".dockerignore").read_text().splitlines()
    ignored = [line.strip() for line in lines if line.strip() and not line.startswith("#")]

    assert not any(pattern.startswith("requirements") for pattern in ignored)
