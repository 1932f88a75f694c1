"""Feeds the read models from the topics: read from the beginning at start (the rebuild), then
follow. Every router instance reads the whole history, which is what an in-memory read model
needs."""

from typing import Any

import structlog
from pydantic import TypeAdapter, ValidationError

from contracts import topics
from contracts.events import CaseRouted, LifecycleEvent
from router.readmodel import ReadModels
from services.follow import TopicFollower

_LIFECYCLE: TypeAdapter[Any] = TypeAdapter(LifecycleEvent)


class ReadModelFeed:
    def __init__(self, models: ReadModels) -> None:
        self._models = models
        self.skipped = 0

    def routed(self, value: bytes) -> None:
        try:
            self._models.apply_routed(CaseRouted.model_validate_json(value))
        except ValidationError:
            self.skipped += 1  # not ours to dead-letter: the workers of that topic do

    def lifecycle(self, value: bytes) -> None:
        try:
            self._models.apply_lifecycle(_LIFECYCLE.validate_json(value))
        except ValidationError:
            self.skipped += 1

    def follower(self, bootstrap: str, logger: structlog.stdlib.BoundLogger) -> TopicFollower:
        appliers = {topics.CASES_LIFECYCLE: self.lifecycle, topics.CASES_ROUTED: self.routed}
        return TopicFollower(bootstrap, appliers, logger, batch=2000)
