"""One JSON object per log line, with the request id; nothing that identifies a customer."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import time
import traceback
from typing import TextIO

_logger = logging.getLogger("payment_processor")


class _StdoutHandler(logging.StreamHandler):
    """Writes to sys.stdout as it is when the record is emitted, not when the handler was made."""

    @property
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def configure() -> logging.Logger:
    if not _logger.handlers:
        handler = _StdoutHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        _logger.addHandler(handler)
        _logger.propagate = False
    _logger.setLevel(os.environ.get("LOG_LEVEL", "INFO"))
    return _logger


def pseudonym(value: str) -> str:
    """A stable, non-reversible stand-in for an identifier, so logs can be correlated."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


def log(
    level: int, event: str, request_id: str, with_traceback: bool = False, **fields: object
) -> None:
    if _logger.isEnabledFor(level):
        record = {
            "level": logging.getLevelName(level),
            "event": event,
            "requestId": request_id,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            **fields,
        }
        if with_traceback:
            record["traceback"] = traceback.format_exc()
        _logger.log(level, json.dumps(record, default=str, sort_keys=True))
