"""What every leadflow service shares."""
