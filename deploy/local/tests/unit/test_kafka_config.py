"""Kafka's rendered configuration and cluster id."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from leadflow_devstack.kafka import new_cluster_id, render_server_properties
from leadflow_devstack.paths import repo_root


def _properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {key: value for key, value in pairs}


def test_the_checked_in_broker_is_a_single_kraft_node_on_loopback():
    template = (repo_root() / "deploy" / "kafka" / "server.properties").read_text()

    props = _properties(render_server_properties(template, "/srv/leadflow/kafka-data"))

    assert props["process.roles"] == "broker,controller"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9092"
    assert props["log.dirs"] == "/srv/leadflow/kafka-data"
    assert props["auto.create.topics.enable"] == "false"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["num.partitions"] == "6"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["share.coordinator.state.topic.min.isr"] == "1"
    assert "controller.quorum.voters" not in props


def test_a_template_without_the_data_placeholder_is_refused():
    with pytest.raises(ValueError, match="placeholder"):
        render_server_properties("log.dirs=/tmp/kafka-logs\n", "/srv/leadflow")


def test_a_cluster_id_is_sixteen_url_safe_bytes():
    cluster_id = new_cluster_id()

    assert len(cluster_id) == 22
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16
    assert new_cluster_id() != cluster_id


def test_a_cluster_id_never_starts_with_a_dash_which_the_storage_tool_would_take_for_an_option():
    # One in 64 random ids would: among 2,000 draws, the chance that none does is about 1e-14.
    assert not any(new_cluster_id().startswith("-") for _ in range(2000))


def test_the_pom_ships_a_log4j_binding_for_the_broker():
    pom = Path(repo_root() / "deploy" / "kafka" / "pom.xml").read_text()

    assert "<artifactId>kafka_2.13</artifactId>" in pom
    assert "<artifactId>log4j-slf4j-impl</artifactId>" in pom
