"""leadflow opportunity service."""
