"""merritt: hooks: each owns a connection and its protocol."""
