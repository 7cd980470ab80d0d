"""leadflow qualification service."""
