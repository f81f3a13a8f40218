"""facility assets and checks."""
