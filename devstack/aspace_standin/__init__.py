"""A stand-in for the ArchivesSpace backend API, serving generated data.

`data` generates repositories, resources (MARC21 exports) and top containers
deterministically from a seed; `server` answers the API over HTTP with
configurable latency and failure injection; `python -m devstack.aspace_standin`
runs it.
"""
