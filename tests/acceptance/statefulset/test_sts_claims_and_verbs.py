"""Claims and rollout verbs through the real daemon: PVC retention policies (Kubernetes'
e2e "should delete PVCs with a WhenDeleted/OnScaledown policy"), claim expansion
when a volumeClaimTemplate grows (kubernetes#68737), and `petset rollout
history|restart|pause|resume|status` with the Events and condition `describe` shows."""

from __future__ import annotations

import pytest

from tests.acceptance.conftest import PetsetEnv
from tests.acceptance.statefulset.stsfixtures import (
    Api,
    cleanup,
    headless_service,
    pods_of,
    revision_of,
    set_env,
    wait_for,
    wait_ready,
    wait_settled,
    web_set,
)

pytestmark = pytest.mark.acceptance


def _claims(api: Api, name: str) -> dict[str, str]:
    """Claim name -> uid."""
    items = api.list("PersistentVolumeClaim", f"app={name}")
    return {c["metadata"]["name"]: c["metadata"]["uid"] for c in items}


def test_retention_whenscaled_delete_whendeleted_retain(env: PetsetEnv, api: Api) -> None:
    policy = {"whenScaled": "Delete", "whenDeleted": "Retain"}
    sts = web_set("ret", 3, extra={"persistentVolumeClaimRetentionPolicy": policy})
    api.apply(headless_service("ret"), sts)
    wait_ready(api, "ret", ["ret-0", "ret-1", "ret-2"])
    before = _claims(api, "ret")
    assert sorted(before) == ["data-ret-0", "data-ret-1", "data-ret-2"]
    env.ok("scale", "sts/ret", "--replicas", "1")
    wait_for(
        "claims of ret-1, ret-2 deleted", lambda: sorted(_claims(api, "ret")) == ["data-ret-0"]
    )
    # Scaling up again gives fresh claims for the new members.
    env.ok("scale", "sts/ret", "--replicas", "2")
    wait_ready(api, "ret", ["ret-0", "ret-1"])
    after = _claims(api, "ret")
    assert after["data-ret-0"] == before["data-ret-0"]
    assert after["data-ret-1"] != before["data-ret-1"]
    # whenDeleted Retain: deleting the set leaves its claims.
    env.ok("delete", "sts", "ret")
    wait_for("pods gone", lambda: not pods_of(api, "ret"))
    assert _claims(api, "ret") == after
    cleanup(api, "ret")


def test_retention_whendeleted_delete_whenscaled_retain(env: PetsetEnv, api: Api) -> None:
    policy = {"whenScaled": "Retain", "whenDeleted": "Delete"}
    sts = web_set("wd", 2, extra={"persistentVolumeClaimRetentionPolicy": policy})
    api.apply(headless_service("wd"), sts)
    wait_ready(api, "wd", ["wd-0", "wd-1"])
    assert api.exec("wd-1", "sh", "-c", "echo kept > /data/mark")[0] == 0
    before = _claims(api, "wd")
    env.ok("scale", "sts/wd", "--replicas", "1")
    wait_ready(api, "wd", ["wd-0"])
    assert _claims(api, "wd") == before, "whenScaled Retain keeps the claim of wd-1"
    env.ok("scale", "sts/wd", "--replicas", "2")
    wait_ready(api, "wd", ["wd-0", "wd-1"])
    assert api.exec("wd-1", "cat", "/data/mark") == (0, "kept\n"), "wd-1 got its own data back"
    env.ok("delete", "sts", "wd")
    wait_for("claims deleted with the set", lambda: not _claims(api, "wd"), 30)
    cleanup(api, "wd")


def test_raising_a_claim_template_expands_every_claim(env: PetsetEnv, api: Api) -> None:
    sts = web_set("grow", 2)
    api.apply(headless_service("grow"), sts)
    wait_settled(api, "grow")
    sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] = "20Mi"
    api.apply(sts)

    def grown() -> bool:
        items = api.list("PersistentVolumeClaim", "app=grow")
        return len(items) == 2 and all(
            c["spec"]["resources"]["requests"]["storage"] == "20Mi"
            and (c.get("status") or {}).get("capacity", {}).get("storage") == "20Mi"
            for c in items
        )

    wait_for("both claims at 20Mi", grown)
    events = " | ".join(e["message"] for e in api.events("grow"))
    assert "data-grow-0" in events and "data-grow-1" in events, events
    assert {revision_of(p) for p in pods_of(api, "grow").values()} == {
        api.must("StatefulSet", "grow")["status"]["currentRevision"]
    }, "growing a claim does not restart the members"
    cleanup(api, "grow")


def test_rollout_verbs_events_and_conditions(env: PetsetEnv, api: Api) -> None:
    v1 = web_set("verbs", 2, claims=False)
    v1["metadata"]["annotations"] = {"kubernetes.io/change-cause": "first"}
    api.apply(headless_service("verbs"), v1)
    wait_settled(api, "verbs")
    v2 = set_env(v1, "2")
    v2["metadata"]["annotations"] = {"kubernetes.io/change-cause": "second"}
    api.apply(v2)
    out = env.ok("rollout", "status", "sts/verbs", "--timeout", "60")
    assert "complete" in out, out
    history = env.ok("rollout", "history", "sts/verbs")
    assert "first" in history and "second" in history, history

    # Pause holds a template change (scaling still works); resume lets it roll.
    env.ok("rollout", "pause", "sts/verbs")
    rev2 = wait_settled(api, "verbs")["status"]["currentRevision"]
    api.apply(set_env(v2, "3"))
    res = env.run("rollout", "status", "sts/verbs", "--timeout", "2")
    assert res.returncode == 1 and "paused" in res.stderr + res.stdout, res
    assert {revision_of(p) for p in pods_of(api, "verbs").values()} == {rev2}
    assert "rollout paused" in env.ok("describe", "sts", "verbs")
    env.ok("rollout", "resume", "sts/verbs")
    rev3 = wait_settled(api, "verbs")["status"]["currentRevision"]
    assert rev3 != rev2

    # Restart replaces every pod.
    uids = {p["metadata"]["uid"] for p in pods_of(api, "verbs").values()}
    assert "restarted" in env.ok("rollout", "restart", "sts/verbs")
    env.ok("rollout", "status", "sts/verbs", "--timeout", "60")
    pods = wait_settled(api, "verbs") and pods_of(api, "verbs")
    assert not uids & {p["metadata"]["uid"] for p in pods.values()}

    # Every step was an Event; describe shows them and the Progressing condition.
    described = env.ok("describe", "sts", "verbs")
    for words in (
        "Progressing",
        "2 of 2 pods Ready at revision",
        "create Pod verbs-1 in StatefulSet verbs successful",
        "updating verbs-1 to revision",
        "rollout paused",
    ):
        assert words in described, f"{words!r} not in:\n{described}"
    cleanup(api, "verbs")
