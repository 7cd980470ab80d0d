"""leadflow nurture service."""
