"""The daemon's structured log: one JSON object per line (ts, level, component, msg, extra).

Components log through `logging.getLogger("petset.<component>")`; whatever a
caller passes as `extra=` lands in the line's `extra` object, so `petset daemon
logs` and tests can read a reconcile outcome back without parsing prose.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's coloured duplicate of msg
    "taskName",
}
MAX_LOG_BYTES = 10 * 1024 * 1024
LOG_BACKUPS = 3


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = {k: _jsonable(v) for k, v in record.__dict__.items() if k not in _STANDARD}
        if record.exc_info:
            extra["exception"] = self.formatException(record.exc_info)
        component = record.name.removeprefix("petset.") if record.name != "petset" else "daemon"
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "component": component,
            "msg": record.getMessage(),
            "extra": extra,
        }
        return json.dumps(line, default=str)


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


def setup_logging(log_path: Path, *, also_stderr: bool = False) -> logging.Logger:
    """Route petset's and uvicorn's loggers to the rotating JSON log; return the root one."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    handler: logging.Handler = logging.handlers.RotatingFileHandler(
        log_path, maxBytes=MAX_LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
    )
    handler.setFormatter(JsonFormatter())
    handlers = [handler]
    if also_stderr:
        console = logging.StreamHandler()
        console.setFormatter(JsonFormatter())
        handlers.append(console)
    for name in ("petset", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = list(handlers)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    # Access lines for every CLI call would drown the log: warnings only.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    return logging.getLogger("petset")


def format_line(line: str) -> str:
    """A JSON log line as one readable line for `petset daemon logs`."""
    try:
        rec = json.loads(line)
    except json.JSONDecodeError:
        return line.rstrip("\n")
    extra = rec.get("extra") or {}
    tail = " ".join(f"{k}={json.dumps(v)}" for k, v in extra.items() if k != "exception")
    text = f"{rec.get('ts', '')} {rec.get('level', '').upper():7} {rec.get('component', '')}: "
    text += str(rec.get("msg", "")) + (f"  {tail}" if tail else "")
    if "exception" in extra:
        text += "\n" + str(extra["exception"])
    return text
