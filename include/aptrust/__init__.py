"""APTrust registry batch jobs: selection rules, digests, deletion checks and the registry SQL."""
