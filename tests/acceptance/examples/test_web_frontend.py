"""examples/web (through `petset demo --web`) and examples/frontend: a Deployment in front of the
StatefulSet, updated, rolled back, paused, resumed and restarted with `petset rollout`."""

from __future__ import annotations

import time

import pytest

from petset.api.meta import Obj
from tests.acceptance.conftest import REPO, PetsetEnv
from tests.acceptance.statefulset.stsfixtures import Api, is_ready, wait_for, wait_ready

pytestmark = pytest.mark.acceptance

WEB = ["web-0", "web-1", "web-2"]


def _fetch(api: Api, url: str) -> str:
    code, out = api.exec(
        "web-0", "python3", "-c",
        f"import urllib.request as u; print(u.urlopen({url!r}, timeout=3).read().decode())",
    )  # fmt: skip
    return out.strip() if code == 0 else f"error {code}: {out}"


def _frontend_pods(api: Api) -> list[Obj]:
    return [
        p for p in api.list("Pod", "app=frontend") if not p["metadata"].get("deletionTimestamp")
    ]


def _serves(api: Api, version: str) -> bool:
    """Every frontend pod is Ready at `version` and the Service answers with it."""
    pods = _frontend_pods(api)
    env_of = [{e["name"]: e.get("value") for e in p["spec"]["containers"][0]["env"]} for p in pods]
    return (
        len(pods) == 2
        and all(map(is_ready, pods))
        and all(e["VERSION"] == version for e in env_of)
        and _fetch(api, "http://frontend/").startswith(f"frontend {version} -> hello from petset")
    )


def _apply_version(env: PetsetEnv, version: str) -> None:
    text = (REPO / "examples/frontend/frontend.yaml").read_text()
    text = text.replace("value: v1", f"value: {version}")
    text = text.replace('"frontend v1"', f'"frontend {version}"')
    env.ok("apply", "-f", str(env.write(f"frontend-{version}.yaml", text)))


def test_web_demo_members_and_a_daemon_restart(env: PetsetEnv, api: Api) -> None:
    res = env.run("demo", "--web", timeout=120)
    assert res.returncode == 0, res.stderr
    assert "statefulset.apps/web: 3/3 ready" in res.stdout, res.stdout
    wait_ready(api, "web", WEB)
    for i, member in enumerate(WEB):
        page = _fetch(api, f"http://{member}.web:8080/")
        assert page == f"hello from petset: I am web-{i}", page

    # Pods stopped with the daemon start again with the next one, same identities.
    ips = {p["metadata"]["name"]: p["status"]["podIP"] for p in api.list("Pod", "app=web")}
    env.ok("daemon", "stop", "--pods")
    env.ok("daemon", "start")
    pods = wait_ready(api, "web", WEB, timeout=40)
    assert {n: p["status"]["podIP"] for n, p in pods.items()} == ips
    assert all(p["status"]["containerStatuses"][0]["restartCount"] == 1 for p in pods.values())


def test_frontend_deployment_update_rollback_pause_restart(env: PetsetEnv, api: Api) -> None:
    wait_ready(api, "web", WEB)
    env.ok("apply", "-f", "examples/frontend/")
    wait_for("frontend v1 serving the web pages", lambda: _serves(api, "v1"), 40)

    _apply_version(env, "v2")
    out = env.ok("rollout", "status", "deploy/frontend", "--timeout", "60")
    assert "successfully rolled out" in out, out
    wait_for("frontend v2", lambda: _serves(api, "v2"), 30)
    history = env.ok("rollout", "history", "deploy/frontend")
    assert "frontend v1" in history and "frontend v2" in history, history

    assert "rolled back" in env.ok("rollout", "undo", "deploy/frontend")
    env.ok("rollout", "status", "deploy/frontend", "--timeout", "60")
    wait_for("frontend v1 again", lambda: _serves(api, "v1"), 30)

    # Paused, a template change waits; resumed, it rolls.
    env.ok("rollout", "pause", "deploy/frontend")
    _apply_version(env, "v3")
    time.sleep(2)
    assert _serves(api, "v1")
    env.ok("rollout", "resume", "deploy/frontend")
    env.ok("rollout", "status", "deploy/frontend", "--timeout", "60")
    wait_for("frontend v3", lambda: _serves(api, "v3"), 30)

    # Restart replaces every pod at the same template.
    uids = {p["metadata"]["uid"] for p in _frontend_pods(api)}
    assert "restarted" in env.ok("rollout", "restart", "deploy/frontend")
    env.ok("rollout", "status", "deploy/frontend", "--timeout", "60")
    wait_for(
        "new frontend pods at v3",
        lambda: (
            _serves(api, "v3") and not uids & {p["metadata"]["uid"] for p in _frontend_pods(api)}
        ),
        30,
    )
    env.ok("delete", "-f", "examples/frontend/")
