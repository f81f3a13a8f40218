"""The embedded simulated AI-grid site set (see run.simulate)."""
