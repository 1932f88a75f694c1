"""Real Kafka and MongoDB-protocol servers on loopback for machines without Docker.

Run ``python -m services.devstack up|down|status|reset|env`` from the repository root; see
``__main__.py`` for the commands and ``deploy/local/README.md`` for the recipes. This package
imports only the standard library, so it works before the project's dependencies exist.
"""
