"""Operators shared by every system."""
