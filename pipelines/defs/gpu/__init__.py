"""gpu assets and checks."""
