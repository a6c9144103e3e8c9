"""postingest benchmark."""
