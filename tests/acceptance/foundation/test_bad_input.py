"""Issue 2's twelve kinds of bad input: each is refused with exit 1, a message that
names the field, no traceback, and the store exactly as it was."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.acceptance.conftest import PetsetEnv
from tests.acceptance.foundation.manifests import config_map

pytestmark = pytest.mark.acceptance

KINDS = "configmaps,statefulsets,services,secrets,deployments,persistentvolumeclaims"

STS = """\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {name}
spec:
  serviceName: {name}
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
        - name: main
          image: debian:12
{command}"""
CMD = '          command: ["sleep", "3600"]\n'


def sts(name: str = "web", replicas: str = "1", command: str = CMD) -> str:
    return STS.format(name=name, replicas=replicas, command=command)


@dataclass(frozen=True)
class Case:
    name: str
    args: Callable[[PetsetEnv], list[str]]
    names: tuple[str, ...]  # each must appear in stderr


def _file(text: str) -> Callable[[PetsetEnv], list[str]]:
    def args(env: PetsetEnv) -> list[str]:
        return ["apply", "-f", str(env.write("input.yaml", text))]

    return args


CASES = [
    Case(
        "yaml-syntax",
        _file("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n   oops: [\n"),
        ("line 5",),
    ),
    Case("wrong-type", _file(sts(replicas='"three"')), ("spec.replicas", "integer")),
    Case(
        "unknown-field",
        _file(sts().replace("  replicas: 1\n", "  replicas: 1\n  replica: 2\n")),
        ("spec.replica", "unknown field"),
    ),
    Case(
        "missing-name",
        _file("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {a: b}\n"),
        ("metadata.name",),
    ),
    Case("invalid-name", _file(config_map("Web_1")), ("metadata.name", "Web_1")),
    Case("bad-selector", lambda env: ["get", "pods", "-l", "a in b"], ("a in b",)),
    Case(
        "unknown-kind",
        _file(sts().replace("kind: StatefulSet", "kind: StatefulSett")),
        ("StatefulSett",),
    ),
    Case(
        "wrong-api-version",
        _file(sts().replace("apiVersion: apps/v1", "apiVersion: v1")),
        ("apiVersion",),
    ),
    Case("missing-command", _file(sts(command="")), ("command",)),
    Case("empty-file", _file("# nothing here\n"), ("no objects",)),
    Case(
        "ten-megabytes",
        _file(config_map("big", "x" * (10 * 1024 * 1024))),
        ("3 MiB",),
    ),
    Case(
        "one-bad-among-good",
        _file("---\n".join([config_map("good-1"), sts(replicas="-1"), config_map("good-2")])),
        ("#2", "spec.replicas"),
    ),
]


def snapshot(env: PetsetEnv) -> Any:
    return env.json("get", KINDS, "-A")["items"]


@pytest.fixture(scope="module")
def baseline(shared_petset_env: PetsetEnv) -> Any:
    env = shared_petset_env
    env.ok("apply", "-f", str(env.write("base.yaml", config_map("base"))))
    return snapshot(env)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_refused_and_changes_nothing(
    shared_petset_env: PetsetEnv, baseline: Any, case: Case
) -> None:
    env = shared_petset_env
    res = env.run(*case.args(env))
    assert res.returncode == 1, (res.stdout, res.stderr)
    assert res.stderr.startswith("error: "), res.stderr
    assert "Traceback" not in res.stderr
    for word in case.names:
        assert word in res.stderr, f"{word!r} not in: {res.stderr}"
    assert res.stdout == ""
    assert snapshot(env) == baseline
