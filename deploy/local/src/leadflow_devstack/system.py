"""Debian packages the stack needs (Java, Maven, PostgreSQL), installed with apt-get when missing."""

from __future__ import annotations

import os
import shutil
import subprocess

_apt_updated = False


def apt_install(*packages: str) -> None:
    """Install Debian packages, running `apt-get update` once first (needs root)."""
    global _apt_updated
    if os.geteuid() != 0:
        raise PermissionError(
            f"installing {' '.join(packages)} needs root: run `sudo apt-get install {' '.join(packages)}`"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if not _apt_updated:
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
        _apt_updated = True
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages], check=True, env=env
    )


def java_major(java: str = "java") -> int | None:
    """The major version of the `java` on PATH, or None when there is none."""
    if shutil.which(java) is None:
        return None
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    for token in result.stderr.split():
        token = token.strip('"')
        if token[:1].isdigit():
            head = token.split(".")[0]
            return int(head) if head.isdigit() else None
    return None


def ensure_java_and_maven() -> None:
    """Make sure Java 17+ and Maven are on PATH."""
    missing: list[str] = []
    major = java_major()
    if major is None or major < 17:
        missing.append("openjdk-17-jre-headless")
    if shutil.which("mvn") is None:
        missing.append("maven")
    if missing:
        apt_install(*missing)
