"""Group commit for inserts keyed by `_id`: the inserts callers issue while one write is in
flight go out together, as one unordered `insert_many`, once it returns.

FerretDB serves one `insert_many` of many documents far faster than as many single inserts
(DESIGN.md), and each round trip costs the service a send and a receive. Under load the batch
grows by itself; alone, a caller waits for no one.

Each caller gets what `insert_new` would have given it for its own documents alone: the ids it
inserted (a duplicate key is an answer, "already done", not an error), or the error. An error
of the whole write (connection lost, timeout) fails every caller of that batch and no other; a
document refused for another reason than a duplicate key, or that cannot be encoded, fails only
the caller it came from.
Two callers inserting the same `_id` in one batch: the first one inserts it, as if the two
single writes had arrived in that order.
"""

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any

from bson.errors import InvalidDocument
from pymongo.errors import BulkWriteError

from services.mongo import MAX_BULK_STATEMENTS, Document, Insertable, Refusals, insert_unordered


@dataclass
class _Insert:
    documents: list[Document]
    answer: asyncio.Future[set[Any]]

    def settle(self, first: int, refused: Refusals) -> None:
        """`first`: the index of this caller's first document in the batch."""
        if self.answer.done():  # the caller was cancelled meanwhile
            return
        own = range(first, first + len(self.documents))
        errors = [refused.others[i] for i in own if i in refused.others]
        if errors:
            rebased = [{**error, "index": error["index"] - first} for error in errors]
            self.answer.set_exception(BulkWriteError({"writeErrors": rebased}))
            return
        self.answer.set_result(
            {
                doc["_id"]
                for i, doc in enumerate(self.documents, first)
                if i not in refused.duplicates
            }
        )

    def fail(self, error: BaseException) -> None:
        if not self.answer.done():
            self.answer.set_exception(error)


class InsertCoalescer:
    """One collection's inserts, written one batch at a time."""

    def __init__(self, collection: Insertable, *, max_documents: int = MAX_BULK_STATEMENTS):
        self._collection = collection
        self._max = max_documents
        self._waiting: deque[_Insert] = deque()
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0
        """Batches written so far."""

    @property
    def waiting(self) -> int:
        """Callers queued for the next write."""
        return len(self._waiting)

    async def insert(self, documents: list[Document]) -> set[Any]:
        """The ids of `documents` this call inserted; raises what a single write would."""
        if not documents:
            return set()
        waiter = _Insert(list(documents), asyncio.get_running_loop().create_future())
        self._waiting.append(waiter)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_while_waiting())
        return await waiter.answer

    async def _write_while_waiting(self) -> None:
        batch: list[_Insert] = []
        try:
            while self._waiting:
                batch = self._next_batch()
                await self._write(batch)
        except BaseException:  # this task was cancelled (shutdown): so are its callers
            for waiter in [*batch, *self._waiting]:
                waiter.answer.cancel()
            self._waiting.clear()
            raise
        finally:
            self._writer = None

    def _next_batch(self) -> list[_Insert]:
        """The callers in arrival order, up to `max_documents` (a larger caller goes alone);
        a caller cancelled before its batch left is not written."""
        batch: list[_Insert] = []
        size = 0
        while self._waiting:
            waiter = self._waiting[0]
            if batch and size + len(waiter.documents) > self._max:
                break
            self._waiting.popleft()
            if not waiter.answer.cancelled():
                batch.append(waiter)
                size += len(waiter.documents)
        return batch

    async def _write(self, batch: list[_Insert]) -> None:
        documents = [doc for waiter in batch for doc in waiter.documents]
        if not documents:
            return
        self.batches += 1
        try:
            refused = await insert_unordered(self._collection, documents, self._max)
        except InvalidDocument as error:
            if len(batch) == 1:
                batch[0].fail(error)
                return
            # Refused while encoding, before anything was sent: written alone, only the
            # caller whose document it is fails, as with single writes.
            for waiter in batch:
                await self._write([waiter])
            return
        except Exception as error:
            for waiter in batch:
                waiter.fail(error)
            return
        first = 0
        for waiter in batch:
            waiter.settle(first, refused)
            first += len(waiter.documents)
