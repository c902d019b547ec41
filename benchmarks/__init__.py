"""Benchmarks: end-to-end runs whose results are written to files beside them."""
