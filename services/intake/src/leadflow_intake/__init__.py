"""leadflow intake service."""
