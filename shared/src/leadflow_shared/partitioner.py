"""Kafka's default partitioner (murmur2 of the key), cheaper than aiokafka's pure-Python one.

Producers outside leadflow and the benchmark place a lead's messages by the Java client's rule
(murmur2 of the key, `& 0x7fffffff`, modulo the partition count), so this must give exactly that partition.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from struct import Struct

from aiokafka.partitioner import DefaultPartitioner

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


@lru_cache(maxsize=64)
def _words(count: int) -> Struct:
    """The little-endian layout of `count` 32-bit words."""
    return Struct(f"<{count}I")


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2) as an unsigned 32-bit value.

    The same hash as aiokafka.partitioner.murmur2, reading the key four bytes at a time.
    """
    length = len(data)
    h = _SEED ^ length
    whole = length & ~3
    for k in _words(length >> 2).unpack_from(data):
        k = (k * _M) & _MASK
        k ^= k >> 24
        h = ((h * _M) & _MASK) ^ ((k * _M) & _MASK)
    tail = length & 3
    if tail:
        if tail == 3:
            h ^= data[whole + 2] << 16
        if tail >= 2:
            h ^= data[whole + 1] << 8
        h = ((h ^ data[whole]) * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)


@lru_cache(maxsize=8192)
def _positive_hash(key: bytes) -> int:
    """murmur2 of a key made positive as the Java client does; a lead's key recurs in its several events."""
    return murmur2(key) & 0x7FFFFFFF


class KafkaPartitioner:
    """The partition Kafka's Java default partitioner picks for a key; a keyless message's as aiokafka's."""

    def __init__(self) -> None:
        self._keyless = DefaultPartitioner()

    def __call__(self, key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]) -> int:
        """Pick the partition of one message (aiokafka's partitioner interface)."""
        if key is None:
            return int(self._keyless(key, all_partitions, available))
        if type(key) is not bytes:
            key = bytes(key)
        return all_partitions[_positive_hash(key) % len(all_partitions)]
