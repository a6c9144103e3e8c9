"""Devstack start-up benchmark."""
