"""postingest: which confirmer queue an asset waits on, what it is sent, what is announced.

Pure domain logic (no Airflow, no network): the queue configuration, the state
machine over DynamoDB stream records, the message bodies and the conditional
updates that make every effect safe to repeat.
"""
