"""Run one service's app with uvicorn: `python -m <service>` calls this."""

from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from services.settings import ServiceSettings


def serve(create_app: Callable[[], FastAPI], settings: ServiceSettings) -> None:
    uvicorn.run(
        create_app(),
        host=settings.host,
        port=settings.port,
        log_config=None,  # keep the structlog handler configured by the app
        access_log=False,
    )
