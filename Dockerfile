# Astro Runtime 3.3 (Airflow 3.3). requirements.txt pins the providers on top of it;
# packages.txt lists Debian packages (none are needed by the DAGs themselves).
FROM astrocrpublic.azurecr.io/runtime:3.3-2

# DAGs and plugins import shared code as `include.<pipeline>...` from the project root.
ENV PYTHONPATH=/usr/local/airflow
