"""Rolling updates through the real daemon, after Kubernetes' e2e tests: rolling update and
rollback with claims, canary and phased updates (partition), OnDelete and
maxUnavailable; plus petset's recovery of a rollout stuck on a never-Ready pod
(kubernetes#67250)."""

from __future__ import annotations

import json
import time

import pytest

from petset.api.meta import Obj
from tests.acceptance.conftest import PetsetEnv
from tests.acceptance.statefulset.stsfixtures import (
    Api,
    Tracker,
    break_pod,
    cleanup,
    headless_service,
    is_ready,
    pods_of,
    restore_pod,
    revision_of,
    set_env,
    wait_for,
    wait_settled,
    web_set,
)

pytestmark = pytest.mark.acceptance


def _apply_cli(env: PetsetEnv, obj: Obj) -> None:
    """`petset apply -f` as a user changes the template."""
    path = env.write(f"{obj['metadata']['name']}.json", json.dumps(obj))
    env.ok("apply", "-f", str(path))


def _revisions(api: Api, name: str) -> dict[str, str]:
    return {n: revision_of(p) for n, p in sorted(pods_of(api, name).items())}


def _holds_revisions(api: Api, name: str, expect: dict[str, str], seconds: float = 2.5) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert _revisions(api, name) == expect
        time.sleep(0.3)


def _new_revision(api: Api, name: str, old: str) -> str:
    sts = wait_for(
        "a new update revision",
        lambda: (s := api.must("StatefulSet", name))["status"].get("updateRevision") != old and s,
    )
    return str(sts["status"]["updateRevision"])


def test_rolling_update_and_rollback_with_claims(env: PetsetEnv, api: Api) -> None:
    v1 = web_set("ru", 3)
    api.apply(headless_service("ru"), v1)
    rev1 = wait_settled(api, "ru")["status"]["currentRevision"]
    claims = {c["metadata"]["uid"] for c in api.list("PersistentVolumeClaim", "app=ru")}

    # An unhealthy member holds the update back until it is healthy again.
    break_pod(api, "ru-1")
    wait_for("ru-1 unready", lambda: not is_ready(api.get("Pod", "ru-1")))
    with Tracker(env, "ru") as t:
        _apply_cli(env, set_env(v1, "2"))
        rev2 = _new_revision(api, "ru", rev1)
        _holds_revisions(api, "ru", dict.fromkeys(["ru-0", "ru-1", "ru-2"], rev1))
        restore_pod(api, "ru-1")
        sts = wait_settled(api, "ru")
    assert sts["status"]["currentRevision"] == rev2
    assert set(_revisions(api, "ru").values()) == {rev2}
    # Highest ordinal first, one at a time: each waits for its successor to be Ready again.
    assert t.leaving("ru-2") < t.leaving("ru-1") < t.leaving("ru-0"), t.log
    assert t.index("created ru-2") < t.leaving("ru-1"), t.log
    assert {c["metadata"]["uid"] for c in api.list("PersistentVolumeClaim", "app=ru")} == claims
    assert api.exec("ru-1", "cat", "/data/index.html") == (0, "ru-1\n"), "the claim kept its data"

    # Roll back: the old template comes back as the newest revision, in the same order.
    with Tracker(env, "ru") as back:
        out = env.ok("rollout", "undo", "sts/ru")
        assert out.strip() == "statefulset.apps/ru rolled back"
        sts = wait_settled(api, "ru")
    assert sts["status"]["currentRevision"] == rev1
    assert set(_revisions(api, "ru").values()) == {rev1}
    assert back.leaving("ru-2") < back.leaving("ru-1") < back.leaving("ru-0"), back.log
    history = env.ok("rollout", "history", "sts/ru")
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()][-2:] == [
        "2",
        "3",
    ], history
    done = env.ok("rollout", "status", "sts/ru", "--timeout", "10")
    assert "complete" in done
    cleanup(api, "ru")


def test_canary_and_phased_rolling_updates(env: PetsetEnv, api: Api) -> None:
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"partition": 3}}
    v1 = web_set("canary", 3, claims=False, strategy=strategy)
    api.apply(headless_service("canary"), v1)
    rev1 = wait_settled(api, "canary")["status"]["currentRevision"]
    names = ["canary-0", "canary-1", "canary-2"]

    # partition = replicas: the new revision exists but no pod moves to it.
    api.apply(set_env(v1, "2"))
    rev2 = _new_revision(api, "canary", rev1)
    _holds_revisions(api, "canary", dict.fromkeys(names, rev1))
    # Canary: partition 2 updates canary-2 only.
    api.patch(
        "StatefulSet", "canary", {"spec": {"updateStrategy": {"rollingUpdate": {"partition": 2}}}}
    )
    canary = {"canary-0": rev1, "canary-1": rev1, "canary-2": rev2}
    wait_for(
        "canary-2 updated",
        lambda: (
            _revisions(api, "canary") == canary
            and all(map(is_ready, pods_of(api, "canary").values()))
        ),
    )
    status = env.ok("rollout", "status", "sts/canary", "--timeout", "10")
    assert "partitioned roll out complete: 1 new pods" in status
    # Pods below the partition come back at the current revision when deleted.
    env.ok("delete", "pod", "canary-0", "canary-1")

    def back_at_old_revision() -> bool:
        pods = pods_of(api, "canary")
        seen = {n: (revision_of(p), is_ready(p)) for n, p in sorted(pods.items())}
        assert seen == {n: (r, True) for n, r in canary.items()}, seen
        return True

    wait_for("canary-0/1 recreated at the old revision", back_at_old_revision, 40)
    # Phased: lower the partition step by step.
    for partition, updated in ((1, "canary-1"), (0, "canary-0")):
        patch = {"spec": {"updateStrategy": {"rollingUpdate": {"partition": partition}}}}
        api.patch("StatefulSet", "canary", patch)
        canary[updated] = rev2
        wait_for(f"{updated} updated", lambda: _revisions(api, "canary") == canary, 30)
    assert wait_settled(api, "canary")["status"]["currentRevision"] == rev2
    cleanup(api, "canary")


def test_on_delete_replaces_only_deleted_pods(env: PetsetEnv, api: Api) -> None:
    v1 = web_set("od", 2, claims=False, strategy={"type": "OnDelete"})
    api.apply(headless_service("od"), v1)
    rev1 = wait_settled(api, "od")["status"]["currentRevision"]
    api.apply(set_env(v1, "2"))
    rev2 = _new_revision(api, "od", rev1)
    _holds_revisions(api, "od", {"od-0": rev1, "od-1": rev1})
    env.ok("delete", "pod", "od-1")
    wait_for(
        "od-1 at the new revision", lambda: _revisions(api, "od") == {"od-0": rev1, "od-1": rev2}
    )
    env.ok("delete", "pod", "od-0")
    wait_for(
        "od-0 at the new revision", lambda: _revisions(api, "od") == {"od-0": rev2, "od-1": rev2}
    )
    sts = wait_for(
        "status counts the update",
        lambda: (s := api.must("StatefulSet", "od"))["status"].get("updatedReplicas") == 2 and s,
    )
    assert sts["status"]["updateRevision"] == rev2
    cleanup(api, "od")


def test_max_unavailable_updates_several_pods_at_once(env: PetsetEnv, api: Api) -> None:
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2}}
    v1 = web_set("mu", 4, claims=False, policy="Parallel", strategy=strategy)
    api.apply(headless_service("mu"), v1)
    rev1 = wait_settled(api, "mu")["status"]["currentRevision"]
    with Tracker(env, "mu") as t:
        api.apply(set_env(v1, "2"))
        sts = wait_settled(api, "mu")
    assert sts["status"]["currentRevision"] != rev1
    assert t.unready_peak == 2, f"at most and at some moment 2 unavailable: {t.log}"
    assert t.leaving("mu-3") < t.leaving("mu-1") and t.leaving("mu-2") < t.leaving("mu-0"), t.log
    cleanup(api, "mu")


def test_stuck_rollout_recovers_when_the_template_is_undone_or_fixed(
    env: PetsetEnv, api: Api
) -> None:
    v1 = web_set("stuck", 3, claims=False)
    api.apply(headless_service("stuck"), v1)
    rev1 = wait_settled(api, "stuck")["status"]["currentRevision"]
    broken = set_env(v1, "broken")
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"] = (
        "/nothing"
    )

    def stuck_on_2(rev_bad: str) -> None:
        wait_for(
            "stuck-2 at the bad revision, never Ready",
            lambda: _revisions(api, "stuck").get("stuck-2") == rev_bad,
        )
        _holds_revisions(api, "stuck", {"stuck-0": rev1, "stuck-1": rev1, "stuck-2": rev_bad})
        assert not is_ready(api.get("Pod", "stuck-2"))
        described = env.ok("describe", "sts", "stuck")
        assert "waiting for stuck-2 to be Ready" in described, described

    api.apply(broken)
    bad = _new_revision(api, "stuck", rev1)
    stuck_on_2(bad)
    # Undo: upstream waits forever for stuck-2; petset replaces it at the restored revision.
    env.ok("rollout", "undo", "sts/stuck")
    sts = wait_settled(api, "stuck", 40)
    assert sts["status"]["currentRevision"] == rev1
    assert set(_revisions(api, "stuck").values()) == {rev1}
    events = " | ".join(e["message"] for e in api.events("stuck"))
    assert "stuck at superseded revision" in events, events

    # Re-applying the broken manifest after the undo applies it again, as kubectl does:
    # its last-applied annotation equals the file, but the live template does not.
    [result] = api.apply(broken)
    assert result["action"] == "configured", result
    stuck_on_2(_new_revision(api, "stuck", rev1))
    # Fix forward with a good template.
    api.apply(set_env(v1, "3"))
    sts = wait_settled(api, "stuck", 40)
    assert sts["status"]["currentRevision"] not in (rev1, bad)
    cleanup(api, "stuck")
