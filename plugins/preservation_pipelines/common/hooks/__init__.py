"""Hooks shared by several systems."""
