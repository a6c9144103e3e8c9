"""merritt: operators: each does one job."""
