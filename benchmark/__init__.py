"""Benchmark: features, training, the statistics protocol, tables and the report."""
