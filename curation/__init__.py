"""Curation: filters, de-duplication, per-class splits, statistics, and releases."""
