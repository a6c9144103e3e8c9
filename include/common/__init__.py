"""Facts shared by every system: the time zone the schedules and days are in."""
