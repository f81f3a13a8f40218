"""ran assets and checks."""
