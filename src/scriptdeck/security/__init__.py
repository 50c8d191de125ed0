"""Keeping secrets: encryption at rest, masking in output."""
