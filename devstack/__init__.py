"""The local stack: real servers on loopback, the ArchivesSpace stand-in, Airflow's components."""
