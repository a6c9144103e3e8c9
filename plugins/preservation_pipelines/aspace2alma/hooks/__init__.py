"""aspace2alma: hooks: each owns a connection and its protocol."""
