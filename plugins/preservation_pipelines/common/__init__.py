"""Shared by every system: the mail and Kafka producer hooks, the run-summary operator."""
