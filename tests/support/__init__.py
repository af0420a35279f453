"""Tooling that is not the product: app processes for tests, the benchmark and the load test."""
