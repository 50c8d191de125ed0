"""The worker's runtime: claim an execution, run it, record it, and keep the process known."""
