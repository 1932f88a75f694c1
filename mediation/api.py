"""Mediator HTTP endpoints."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query

from contracts.ids import UNIT_ID_PATTERN
from contracts.vocabulary import CaseState
from mediation.models import OPEN_STATES, CaseView, QueueItem
from mediation.store import CaseStore


def create_router(store: CaseStore) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["mediation"])

    @router.get("/units/{unit_id}/queue", response_model=list[QueueItem])
    async def unit_queue(
        unit_id: Annotated[str, Path(pattern=UNIT_ID_PATTERN)],
        state: Annotated[list[CaseState] | None, Query()] = None,
        mediator_id: Annotated[str | None, Query(max_length=80)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[QueueItem]:
        """Open cases of a unit, most pressing first: priority, then acceptance due time."""
        documents = await store.queue(unit_id, state or list(OPEN_STATES), mediator_id, limit)
        return [QueueItem.model_validate(document) for document in documents]

    @router.get("/cases/{case_id}", response_model=CaseView)
    async def get_case(case_id: Annotated[str, Path(max_length=80)]) -> CaseView:
        document = await store.get(case_id)
        if document is None:
            raise HTTPException(status_code=404, detail=f"no case {case_id}")
        return CaseView.model_validate(document)

    return router
