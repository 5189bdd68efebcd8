"""Logging: plain text by default, one JSON object a line with LOG_FORMAT=json (README "Logs").

Every line, from structlog or from a plain `logging` logger (Django, Celery, palette_sync), goes
through one structlog ProcessorFormatter, so it carries the context bound in its thread:
`request_id` (django-structlog's middleware, and in the Celery tasks a request queues),
`task_id`, and `run_id` on every line of a sync run (palette_sync.sync.runs.Recorder).

Strings from Palette (a cluster named "x\\n... ERROR forged") stay inside their line: JSON escapes
them, and the text format escapes line breaks in the message. Secrets that can travel in a URL —
a wall screen's token, an OAuth code or state — are masked wherever they appear in a line.
"""

import logging
import re

import structlog
from structlog.typing import EventDict

# The part of a URL that is a secret, and what keeps its place in the line.
SECRET_IN_URL = [
    (re.compile(r"(/wall/)[^/?#\s\"']+"), r"\1[secret]"),
    (re.compile(r"([?&](?:code|state|token|access_token|id_token|api_key|key|password)=)[^&#\s\"']*"), r"\1[secret]"),
]

# Shared by structlog's own loggers and by plain logging records (foreign_pre_chain).
PRE_CHAIN = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def mask_secrets(logger: object, method: str, event: EventDict) -> EventDict:
    """Mask secrets carried in URLs, in every string of the line (the request path, the message)."""
    for key, value in event.items():
        if isinstance(value, str) and ("/wall/" in value or "=" in value):
            for pattern, replacement in SECRET_IN_URL:
                value = pattern.sub(replacement, value)
            event[key] = value
    return event


def escape_line_breaks(logger: object, method: str, event: EventDict) -> EventDict:
    """Text lines: a line break inside the message is written as \\n, so one event is one line."""
    message = event.get("event")
    if isinstance(message, str) and ("\n" in message or "\r" in message):
        event["event"] = message.replace("\r", "\\r").replace("\n", "\\n")
    return event


def formatter(log_format: str = "text") -> structlog.stdlib.ProcessorFormatter:
    """The formatter of every handler (LOGGING's "()" factory)."""
    if log_format == "json":
        tail = [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    else:
        # Plain tracebacks: the rich one (used when rich is installed) prints every frame's locals,
        # which may hold secrets, and evaluates lazy ones (request.user: a database query per frame).
        renderer = structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
        tail = [escape_line_breaks, renderer]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=PRE_CHAIN,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, mask_secrets, *tail],
    )


def config(log_format: str, level: str) -> dict:
    """Django's LOGGING: one console handler on the root logger, through `formatter`."""
    if log_format not in ("text", "json"):
        raise ValueError(f"LOG_FORMAT must be text or json, not {log_format!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structured": {"()": "ops.logs.formatter", "log_format": log_format}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "httpx": {"level": "WARNING"},
            "httpcore": {"level": "WARNING"},
            # Django's own request lines; django_structlog's request_finished says the same, with the request id.
            "django.server": {"level": "WARNING"},
        },
    }


def configure_structlog() -> None:
    """structlog's loggers hand their events to the logging handlers above (called once per process),
    and so do Python's warnings (Celery's SecurityWarning, a library's DeprecationWarning): a line
    through the same formatter, JSON in JSON mode, rather than raw text on stderr."""
    logging.captureWarnings(True)
    structlog.configure(
        processors=[*PRE_CHAIN, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
