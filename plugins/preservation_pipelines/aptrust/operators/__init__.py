"""aptrust: operators: each does one job."""
