"""Mediation: each case's lifecycle, the mediators' queues, deadlines and metrics."""
