"""Demo and synthetic data."""
