"""The producer's partitioner places every message exactly where Kafka's Java default partitioner would."""

from __future__ import annotations

import random
import uuid

import pytest
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2

from leadflow_shared.partitioner import KafkaPartitioner, murmur2


def test_murmur2_agrees_with_aiokafka_for_random_keys_of_every_length_up_to_64_bytes() -> None:
    rng = random.Random(20261127)
    for length in range(65):
        for _ in range(400):
            key = rng.randbytes(length)
            assert murmur2(key) == aiokafka_murmur2(key), (length, key)


def test_murmur2_agrees_with_aiokafka_for_lead_ids_and_bytes_with_the_high_bit_set() -> None:
    keys = [str(uuid.uuid4()).encode() for _ in range(2000)]
    keys += [bytes([0xFF]) * n for n in range(65)] + [bytes([0x80, 0x7F]) * n for n in range(33)]
    for key in keys:
        assert murmur2(key) == aiokafka_murmur2(key), key


@pytest.mark.parametrize(
    ("key", "partition"),
    # Partitions out of 1,000 computed by Kafka's Java client (org.apache.kafka.clients.producer.Partitioner).
    [(b"", 681), (b"a", 524), (b"ab", 434), (b"abc", 107), (b"123456789", 566), (b"\x00 ", 742)],
)
def test_a_keyed_message_goes_to_the_partition_the_java_client_picks(key: bytes, partition: int) -> None:
    partitions = list(range(1000))
    assert KafkaPartitioner()(key, partitions, partitions) == partition


@pytest.mark.parametrize("count", [1, 2, 3, 6, 7, 12, 64])
def test_keyed_messages_go_where_aiokafka_sends_them_whatever_the_partition_count(count: int) -> None:
    rng = random.Random(count)
    partitions = list(range(count))
    ours, theirs = KafkaPartitioner(), DefaultPartitioner()
    for _ in range(3000):
        key = rng.randbytes(rng.randrange(65))
        # Twice: the second answer comes from the memo of recent keys.
        assert ours(key, partitions, partitions) == theirs(key, partitions, partitions)
        assert ours(key, partitions, partitions) == theirs(key, partitions, partitions)


def test_a_keyed_message_ignores_which_partitions_are_available_as_the_java_client_does() -> None:
    partitions = list(range(6))
    key = b"0b5e3a4e-0000-4000-8000-000000000001"
    assert KafkaPartitioner()(key, partitions, [0]) == DefaultPartitioner()(key, partitions, [0])


def test_keyless_messages_go_where_aiokafka_sends_them() -> None:
    partitions = list(range(6))
    ours, theirs = KafkaPartitioner(), DefaultPartitioner()
    for available in (partitions, [2, 4], []):
        random.seed(7)
        expected = [theirs(None, partitions, available) for _ in range(200)]
        random.seed(7)
        assert [ours(None, partitions, available) for _ in range(200)] == expected
