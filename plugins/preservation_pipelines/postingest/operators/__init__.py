"""postingest: operators: each does one job."""
