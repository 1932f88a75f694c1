"""MongoDB wiring with PyMongo's native async client (Motor reached end of life in 2026)."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from services.settings import ServiceSettings

DUPLICATE_KEY = 11000
# FerretDB holds one PostgreSQL connection per statement of a bulk write; DESIGN.md caps both.
MAX_POOL_SIZE = 50
MAX_BULK_STATEMENTS = 100

Document = dict[str, Any]


def create_mongo_client(settings: ServiceSettings) -> AsyncMongoClient[Document]:
    """Creating the client does no I/O; it connects on first use."""
    return AsyncMongoClient(
        settings.mongodb_uri,
        maxPoolSize=MAX_POOL_SIZE,
        tz_aware=True,
        serverSelectionTimeoutMS=5000,
        appname=settings.service_name,
    )


def closing(client: AsyncMongoClient[Document]) -> Callable[[], AbstractAsyncContextManager[None]]:
    """A lifespan step that closes the client when the service stops."""

    @asynccontextmanager
    async def step() -> AsyncIterator[None]:
        try:
            yield
        finally:
            await client.close()

    return step


async def ping(database: AsyncDatabase[Document]) -> bool:
    try:
        await database.command("ping")
    except Exception:
        return False
    return True


class Insertable(Protocol):
    async def insert_many(self, documents: list[Document], *, ordered: bool) -> object: ...


@dataclass
class Refusals:
    """What the server refused in an unordered insert, by the document's index in it."""

    duplicates: set[int] = field(default_factory=set)
    """Refused as duplicate keys: "already done"."""
    others: dict[int, Document] = field(default_factory=dict)
    """Every other write error, its `index` counted in the whole list of documents."""


async def insert_unordered(
    collection: Insertable, documents: list[Document], chunk_size: int = MAX_BULK_STATEMENTS
) -> Refusals:
    """Insert in chunks the server takes; stop after a chunk with a refusal other than a
    duplicate key (a duplicate is an answer, any other refusal an error)."""
    refused = Refusals()
    for start in range(0, len(documents), chunk_size):
        chunk = documents[start : start + chunk_size]
        try:
            await collection.insert_many(chunk, ordered=False)
        except BulkWriteError as error:
            for failure in error.details.get("writeErrors", []):
                index = start + failure["index"]
                if failure.get("code") == DUPLICATE_KEY:
                    refused.duplicates.add(index)
                else:
                    refused.others[index] = {**failure, "index": index}
            if refused.others:
                break
    return refused


async def insert_new(
    database: AsyncDatabase[Document], collection: str, documents: list[Document]
) -> set[Any]:
    """Insert documents keyed by `_id`; a duplicate key means "already done". Returns new ids.

    This is the idempotency check of the hot path: on FerretDB an insert is cheap while a
    filtered update is a full scan.
    """
    refused = await insert_unordered(database[collection], documents)
    if refused.others:
        raise BulkWriteError({"writeErrors": list(refused.others.values())})
    return {doc["_id"] for i, doc in enumerate(documents) if i not in refused.duplicates}
