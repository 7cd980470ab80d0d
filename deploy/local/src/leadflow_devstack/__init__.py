"""The local leadflow stack: Kafka, PostgreSQL, topics and the four services as plain processes."""
