"""Fault injection: `make chaos` (full size) and the reduced run at the end of `make test`."""
