"""MongoDB wiring with PyMongo's native async client (Motor reached end of life in 2026)."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from services.settings import ServiceSettings

DUPLICATE_KEY = 11000

Document = dict[str, Any]


def create_mongo_client(settings: ServiceSettings) -> AsyncMongoClient[Document]:
    """Creating the client does no I/O; it connects on first use."""
    return AsyncMongoClient(
        settings.mongodb_uri,
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


async def insert_new(
    database: AsyncDatabase[Document], collection: str, documents: list[Document]
) -> set[Any]:
    """Insert documents keyed by `_id`; a duplicate key means "already done". Returns new ids."""
    if not documents:
        return set()
    try:
        await database[collection].insert_many(documents, ordered=False)
    except BulkWriteError as error:
        refused = error.details.get("writeErrors", [])
        if error.details.get("writeConcernErrors") or any(
            failure.get("code") != DUPLICATE_KEY for failure in refused
        ):
            raise
        duplicates = {failure["index"] for failure in refused}
        return {doc["_id"] for i, doc in enumerate(documents) if i not in duplicates}
    return {doc["_id"] for doc in documents}
