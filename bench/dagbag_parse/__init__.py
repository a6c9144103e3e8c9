"""DAG parse-time benchmark."""
