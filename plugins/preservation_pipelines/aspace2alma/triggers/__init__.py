"""aspace2alma: triggers, run by the triggerer: serializable and async."""
