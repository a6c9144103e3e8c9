# Astro Runtime 3.3 (Airflow 3.3.2). Its build steps (ONBUILD, run right after FROM) install
# packages.txt (Debian packages; none are needed by the DAGs themselves) and requirements.txt,
# then copy the project into /usr/local/airflow.
FROM astrocrpublic.azurecr.io/runtime:3.3-2

# DAGs and plugins import shared code as `include.<pipeline>...` from the project root.
ENV PYTHONPATH=/usr/local/airflow

# Deploy what was tested: the runtime's step above resolves requirements.txt on its own, so every
# package it pulls in is brought to the version of requirements.lock here (constraints.txt, written
# by `make lock`). Airflow stays the image's: constraints.txt pins it to that same 3.3.2.
USER root
RUN pip install --no-cache-dir -r requirements.txt -c constraints.txt
USER astro
