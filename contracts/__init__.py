"""The one home of event schemas, shared vocabulary and topic names."""
