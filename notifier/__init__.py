"""Notifier: delivers escalation alerts to the supervisors who subscribed."""
