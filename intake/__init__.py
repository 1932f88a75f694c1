"""Intake: every channel's report becomes one validated DisputeReported event on Kafka."""
