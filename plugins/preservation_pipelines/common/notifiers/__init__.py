"""Notifiers shared by every system."""
