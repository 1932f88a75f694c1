"""Shared by intake's component tests: the app over an in-memory store, and HTTP calls."""

from typing import Any

import httpx
from fastapi import FastAPI

from intake.app import create_app
from intake.settings import IntakeSettings
from tests.auth import as_needed
from tests.fakes import InMemoryIntakeStore


def intake_app(**settings: Any) -> tuple[FastAPI, InMemoryIntakeStore]:
    store = InMemoryIntakeStore()
    return create_app(IntakeSettings(**settings), store=store), store


async def call(app: FastAPI, method: str, path: str, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        auth=as_needed, transport=transport, base_url="http://intake"
    ) as client:
        return await client.request(method, path, **kwargs)
