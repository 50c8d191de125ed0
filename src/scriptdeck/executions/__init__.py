"""Executions: their records, the one place their state changes, and the worker's side."""
