"""Tests of include/common."""
