"""tenancy assets and checks."""
