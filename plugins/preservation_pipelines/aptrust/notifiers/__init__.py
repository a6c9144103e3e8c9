"""aptrust: notifiers: messages sent when a task reaches a state."""
