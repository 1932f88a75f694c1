"""structlog set up once per process: JSON off a terminal, with phone and ID numbers masked."""

import logging
import sys
from typing import Any

import structlog
from structlog.typing import EventDict, WrappedLogger

from services.privacy import identifier_digits, redact_identifiers


def _masked(kind: str, as_written: str) -> str:
    """Enough digits to recognise a number in a log, never enough to call it."""
    digits = identifier_digits(as_written)
    if kind == "id_number":
        return f"{digits[:6]}********{digits[-4:]}"
    if kind == "mobile":
        return f"{digits[-11:-8]}****{digits[-4:]}"
    return f"{digits[:3]}****{digits[-2:]}"


def mask_pii(text: str) -> str:
    """Phone and ID numbers however written (services/privacy.py finds them), masked."""
    return redact_identifiers(text, _masked, machine_text=True)


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, dict):
        return {key: _mask_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value(item) for item in value]
    return value


def mask_pii_processor(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: masks every string value, however deeply nested."""
    return {key: _mask_value(value) for key, value in event_dict.items()}


def configure_logging(service: str, level: str = "INFO") -> structlog.stdlib.BoundLogger:
    """Route stdlib logging (uvicorn, faststream, aiokafka) through the same structlog chain."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        mask_pii_processor,
    ]
    renderer: Any = (
        structlog.dev.ConsoleRenderer()
        if sys.stderr.isatty()
        else structlog.processors.JSONRenderer(ensure_ascii=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared[:-1], structlog.stdlib.ExtraAdder(), mask_pii_processor],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(service).bind(service=service)
    return logger
