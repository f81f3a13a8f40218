"""serving assets and checks."""
