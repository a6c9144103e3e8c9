"""Benchmarks: `make bench` runs them all, each printing its ratios."""
