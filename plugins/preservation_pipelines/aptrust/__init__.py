"""APTrust registry batch jobs over the registry's PostgreSQL and per-action topics."""
