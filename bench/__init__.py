"""Benchmarks that print a table; never part of the test run."""
