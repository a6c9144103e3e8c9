"""aptrust: hooks: each owns a connection and its protocol."""
