from __future__ import annotations

import json
import logging

from petset.server.logs import JsonFormatter, format_line


def test_log_lines_are_json_with_component_and_extra() -> None:
    record = logging.LogRecord(
        "petset.manager", logging.INFO, "x.py", 1, "synced %s", ("web",), None
    )
    record.key = "StatefulSet/default/web"
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "info" and line["component"] == "manager"
    assert line["msg"] == "synced web"
    assert line["extra"] == {"key": "StatefulSet/default/web"}
    assert "manager: synced web" in format_line(json.dumps(line))
