"""MongoDB wiring with PyMongo's native async client (Motor reached end of life in 2026)."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

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


def write_failures(error: BulkWriteError) -> tuple[set[int], list[Document]]:
    """The indices refused as duplicates ("already done"), and every other write error."""
    duplicates: set[int] = set()
    others: list[Document] = []
    for failure in error.details.get("writeErrors", []):
        if failure.get("code") == DUPLICATE_KEY:
            duplicates.add(failure["index"])
        else:
            others.append(failure)
    return duplicates, others


async def insert_new(
    database: AsyncDatabase[Document], collection: str, documents: list[Document]
) -> set[Any]:
    """Insert documents keyed by `_id`; a duplicate key means "already done". Returns new ids.

    This is the idempotency check of the hot path: on FerretDB an insert is cheap while a
    filtered update is a full scan.
    """
    inserted: set[Any] = set()
    for start in range(0, len(documents), MAX_BULK_STATEMENTS):
        chunk = documents[start : start + MAX_BULK_STATEMENTS]
        duplicates: set[int] = set()
        try:
            await database[collection].insert_many(chunk, ordered=False)
        except BulkWriteError as error:
            duplicates, others = write_failures(error)
            if others:
                raise
        inserted.update(doc["_id"] for i, doc in enumerate(chunk) if i not in duplicates)
    return inserted
