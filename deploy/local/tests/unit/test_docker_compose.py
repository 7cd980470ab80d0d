"""docker-compose.yml, the Kubernetes topics Job and the services' Dockerfile in step with the topic
catalogue, the init script, the lock files and the services."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from leadflow_devstack.cli import DOCKER_PASSWORDS
from leadflow_devstack.env import SERVICES, Service
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


# No container engine can start a container on the project's machines (docs/adr/0001-no-testcontainers.md),
# so the image is never built here and these checks stay static: they read the root Dockerfile as Docker
# reads it, and run with sh what sh would run of it (the build's argument check, the CMD, the HEALTHCHECK)
# against stand-ins.
BUILD_ARG = re.compile(r"\$\{(SERVICE|PORT)\}")
Instructions = list[tuple[str, str]]


def _instructions(**build_args: str) -> Instructions:
    """The Dockerfile's instructions: comments dropped, continued lines joined, and the build arguments given
    put in, as Docker does in COPY, ENV and EXPOSE and the shell in RUN."""
    lines = (repo_root() / "Dockerfile").read_text().splitlines()
    text = "\n".join(line for line in lines if not line.lstrip().startswith("#")).replace("\\\n", "")
    text = BUILD_ARG.sub(lambda m: build_args.get(m[1], m[0]), text)
    split = (line.partition(" ") for line in text.splitlines())
    return [(word, rest.strip()) for word, _, rest in split if word]


def _built_for(service: Service) -> Instructions:
    return _instructions(SERVICE=service.name, PORT=str(service.port))


def _given(instructions: Instructions, word: str) -> list[str]:
    return [rest for w, rest in instructions if w == word]


def _image_env(instructions: Instructions) -> dict[str, str]:
    pairs = (pair.partition("=") for env in _given(instructions, "ENV") for pair in env.split())
    return {name: value for name, _, value in pairs}


def _run(argv: list[str], path: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    """Run ARGV with nothing of this process's environment but PATH (PATH itself after the folder given)."""
    path = f"{path}:{os.environ['PATH']}" if path else os.environ["PATH"]
    return subprocess.run(argv, env={**env, "PATH": path}, capture_output=True, text=True, timeout=30)


def test_the_image_stops_at_once_unless_built_for_one_of_the_services_and_a_port():
    instructions = _instructions()
    [check, *_] = _given(instructions, "RUN")

    assert instructions[:4] == [
        ("FROM", "python:3.11-slim"),
        ("ARG", "SERVICE"),
        ("ARG", "PORT"),
        ("RUN", check),
    ]
    for service in SERVICES:
        assert _run(["sh", "-c", check], SERVICE=service.name, PORT=str(service.port)).returncode == 0
    for wrong in ({}, {"SERVICE": "billing", "PORT": "8001"}, {"PORT": "8001"}):
        failed = _run(["sh", "-c", check], **wrong)
        assert failed.returncode != 0, wrong
        assert "--build-arg SERVICE=intake|qualification|opportunity|nurture" in failed.stderr, wrong
    for port in ("", "80o1", "0", "65536"):
        failed = _run(["sh", "-c", check], SERVICE="nurture", PORT=port)
        assert failed.returncode != 0, port
        assert failed.stderr.startswith("leadflow: "), port
        assert "PORT" in failed.stderr, port


def test_the_image_keeps_its_env_hygiene_and_runs_as_the_user_the_manifests_expect():
    instructions = _instructions()
    env = _image_env(instructions)

    assert {
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "PIP_NO_CACHE_DIR": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }.items() <= env.items()
    assert ("RUN", "useradd --create-home --uid 10001 --user-group leadflow") in instructions
    assert [word for word, _ in instructions].index("USER") > max(
        i for i, (word, _) in enumerate(instructions) if word == "RUN"
    )
    assert _given(instructions, "USER") == ["leadflow"]
    for service in SERVICES:
        manifest = (repo_root() / "deploy" / "k8s" / f"{service.name}.yaml").read_text()
        assert "runAsUser: 10001" in manifest, service.name


def _pip_installs(service: Service) -> list[str]:
    return [run for run in _given(_built_for(service), "RUN") if run.startswith("pip install")]


def test_each_service_image_installs_its_own_lock_hash_checked_before_any_package():
    for service in SERVICES:
        installs = _pip_installs(service)

        assert (
            installs[0] == f"pip install --require-hashes --no-deps -r /app/requirements/{service.name}.txt"
        )
        assert (repo_root() / "requirements" / f"{service.name}.txt").is_file()


def test_no_service_image_lets_pip_resolve_a_dependency_the_lock_does_not_pin():
    for service in SERVICES:
        installs = _pip_installs(service)

        assert installs[1:] == [
            "pip install --no-deps /app/shared",
            f"pip install --no-deps /app/services/{service.name} && pip check",
        ]


def test_everything_each_service_image_copies_is_in_the_repository():
    for service in SERVICES:
        copies = [copy.split() for copy in _given(_built_for(service), "COPY")]

        assert [source for source, _ in copies] == [
            f"requirements/{service.name}.txt",
            "shared",
            f"services/{service.name}",
        ]
        assert all((repo_root() / source).exists() for source, _ in copies), service.name
        assert all(target == f"/app/{source}" for source, target in copies), service.name


def test_the_command_migrates_then_serves_on_every_interface_at_the_port_built_for(tmp_path):
    for service in SERVICES:
        instructions = _built_for(service)
        [command] = [json.loads(cmd) for cmd in _given(instructions, "CMD")]
        calls = tmp_path / f"{service.name}.calls"
        stand_in = tmp_path / service.command
        stand_in.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n')
        stand_in.chmod(0o755)

        ran = _run(command, path=str(tmp_path), **_image_env(instructions))

        assert ran.returncode == 0, ran.stderr
        assert calls.read_text().splitlines() == ["migrate", f"serve --host 0.0.0.0 --port {service.port}"]


def test_the_command_serves_nothing_when_the_migration_fails(tmp_path):
    instructions = _built_for(SERVICES[0])
    [command] = [json.loads(cmd) for cmd in _given(instructions, "CMD")]
    calls = tmp_path / "calls"
    stand_in = tmp_path / SERVICES[0].command
    stand_in.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n[ "$1" != migrate ]\n')
    stand_in.chmod(0o755)

    ran = _run(command, path=str(tmp_path), **_image_env(instructions))

    assert ran.returncode != 0
    assert calls.read_text().splitlines() == ["migrate"]


class _Readiness(BaseHTTPRequestHandler):
    """/health/ready answers `status`; any other path 404."""

    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/health/ready" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_the_healthcheck_asks_for_readiness_on_the_port_built_for_and_exposed(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Readiness)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        instructions = _built_for(Service("qualification", port))
        [healthcheck] = _given(instructions, "HEALTHCHECK")
        options, _, command = healthcheck.partition(" CMD ")
        [python, *argv] = json.loads(command)
        env = _image_env(instructions)

        assert _given(instructions, "EXPOSE") == [str(port)]
        assert options.split() == ["--interval=10s", "--timeout=3s", "--start-period=30s", "--retries=6"]
        assert python == "python"
        assert _run([sys.executable, *argv], **env).returncode == 0
        monkeypatch.setattr(_Readiness, "status", 503)
        assert _run([sys.executable, *argv], **env).returncode != 0
    finally:
        server.shutdown()
        server.server_close()


def _compose_service(name: str) -> str:
    """The lines of one service in docker-compose.yml."""
    found = re.search(rf"^  {name}:\n((?:    .*\n|\n)*)", _compose(), flags=re.MULTILINE)
    assert found, name
    return found[1]


def test_compose_builds_each_service_from_the_one_dockerfile_with_its_name_and_port():
    for service in SERVICES:
        settings = (
            repo_root() / "services" / service.name / "src" / f"leadflow_{service.name}" / "settings.py"
        )
        block = _compose_service(service.name)

        assert f"http_port: int = Field(default={service.port}," in settings.read_text()
        assert (
            "    build:\n"
            "      context: .\n"
            "      dockerfile: Dockerfile\n"
            f'      args: {{SERVICE: {service.name}, PORT: "{service.port}"}}\n'
        ) in block
        assert f'      - "{service.port}:{service.port}"\n' in block


def test_compose_leaves_where_to_listen_and_the_healthcheck_to_the_image():
    for service in SERVICES:
        block = _compose_service(service.name)

        # A command of its own would run serve without --host 0.0.0.0: the service unreachable from outside.
        assert "command:" not in block, service.name
        assert "_HTTP_HOST" not in block, service.name
        assert "_HTTP_PORT" not in block, service.name
        assert "healthcheck:" not in block, service.name


def test_the_lock_files_are_left_in_the_build_context():
    lines = (repo_root() / ".dockerignore").read_text().splitlines()
    ignored = [line.strip() for line in lines if line.strip() and not line.startswith("#")]

    assert not any(pattern.startswith("requirements") for pattern in ignored)
