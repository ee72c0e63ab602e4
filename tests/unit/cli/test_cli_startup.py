"""The CLI starts fast: heavy libraries load only in the verbs that need them.

Every `petset` command pays for what petset.cli.main imports, before it does
anything; under load each of these cost a second or more of wall time. Checked in
a fresh interpreter, since this test process has imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command

from petset.api.errors import UnavailableError
from petset.api.settings import Settings
from petset.cli.client import Client, query_string
from petset.cli.main import BUILT_IN, VERB_MODULES, build_app

# Libraries no verb needs before it runs: pydantic (models, validation), rich and
# its markdown renderer (tables, typer's rich help), httpx (the stdlib client does),
# yaml, and petset's server-side layers and Kubernetes client.
HEAVY = (
    "pydantic",
    "rich",
    "rich.markdown",
    "markdown_it",
    "httpx",
    "yaml",
    "kubernetes",
    "petset.server",
    "petset.store",
    "petset.engines",
    "petset.kube",
)


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)), file=sys.stderr)"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_importing_the_entry_point_loads_no_heavy_library() -> None:
    loaded = _modules_after("import petset.cli.main")
    assert sorted(set(HEAVY) & loaded) == []


def test_a_verb_and_its_help_load_no_rich_nor_http_library() -> None:
    # typer 0.29 itself imports pydantic to coerce parameters, so that one is allowed here.
    for argv in (["version", "--client"], ["get", "--help"], ["get", "--bogus"]):
        loaded = _modules_after(
            "from petset.cli.main import main\n"
            "try:\n"
            f"    main({argv!r})\n"
            "except SystemExit:\n"
            "    pass"
        )
        assert sorted(set(HEAVY) - {"pydantic"} & loaded) == [], argv


def test_query_string_encodes_like_kubectl_clients() -> None:
    assert query_string(None) == ""
    assert query_string({"namespace": None}) == ""
    assert query_string({"namespace": "a b", "watch": True, "dry": False}) == (
        "?namespace=a+b&watch=true&dry=false"
    )
    assert query_string({"name": ["x", "y"], "limit": 3}) == "?name=x&name=y&limit=3"


def _verbs(verb: str | None = None) -> set[str]:
    commands = getattr(get_command(build_app(verb)), "commands", {})
    return set(commands)


def test_the_verb_table_names_every_verb_and_the_module_that_adds_it() -> None:
    assert _verbs() == set(BUILT_IN) | set(VERB_MODULES)
    for verb in VERB_MODULES:
        assert verb in _verbs(verb), verb
    assert _verbs("version") == set(BUILT_IN)
    assert _verbs("no-such-verb") == _verbs()


def test_no_daemon_on_the_socket_is_an_error_that_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PETSET_SERVER", raising=False)
    c = Client(Settings(home=tmp_path), autostart=False)
    with pytest.raises(UnavailableError, match="petset daemon start") as err:
        c.request("GET", "/v1/version")
    assert str(tmp_path / "petset.sock") in str(err.value)
