"""Merritt queue benchmark."""
