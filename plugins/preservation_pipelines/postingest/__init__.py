"""postingest: the DynamoDB state table, the SQS confirmer queues and the notifications topic."""
