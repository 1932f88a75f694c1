"""Shared runtime plumbing: settings, logging, broker and database wiring, health, launchers."""
