"""postingest: which confirmer queue an asset waits on, what it is sent, what is announced.

No Airflow here: the queue configuration, the state machine over DynamoDB stream
records, the message bodies, the conditional updates and checkpoint rows that make
every effect safe to repeat, and the two jobs (stream applier, resender) that drive
whatever hooks or clients they are given.
"""
