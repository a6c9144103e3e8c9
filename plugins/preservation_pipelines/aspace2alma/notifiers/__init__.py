"""aspace2alma: notifiers and mail senders."""
