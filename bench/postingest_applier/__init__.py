"""Benchmark: postingest's stream applier, batched and parallel, against one record at a time."""
