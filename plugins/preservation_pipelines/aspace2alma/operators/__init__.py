"""aspace2alma: operators: each does one job."""
