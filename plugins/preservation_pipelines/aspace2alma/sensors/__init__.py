"""aspace2alma: sensors."""
