"""leadflow benchmark: the raw Kafka-to-Postgres pipe against the four-service pipeline, in one run."""
