"""aspace2alma domain logic: MARC rules, items, reports, selection."""
