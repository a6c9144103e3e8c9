"""aspace2alma export benchmark."""
