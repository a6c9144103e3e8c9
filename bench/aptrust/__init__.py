"""Spot-test selection benchmark."""
