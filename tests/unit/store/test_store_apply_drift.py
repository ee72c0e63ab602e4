"""apply after a server-side change (rollout undo, an edit): kubectl's three-way
patch sets the config's values again where the live object drifted from them,
even though the last-applied annotation still equals the config."""

from __future__ import annotations

import copy

from petset.api.defaults import apply_defaults
from petset.api.meta import Obj
from petset.store import Store
from petset.store.apply import drift_patch


def web(image: str = "python:3.11") -> Obj:
    container = {"name": "web", "image": image, "ports": [{"containerPort": 8080}]}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "web"},
        "spec": {
            "serviceName": "web",
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [container]},
            },
        },
    }


def template_image(obj: Obj) -> str:
    return str(obj["spec"]["template"]["spec"]["containers"][0]["image"])


def test_apply_after_a_server_side_template_change_applies_again() -> None:
    store = Store(":memory:")
    store.apply_many([web("python:3.12")], defaults=apply_defaults)
    # What `rollout undo` does: the template goes back to an older revision's,
    # the last-applied annotation stays the file's.
    live = store.get("StatefulSet", "web", "default")
    undone = copy.deepcopy(live)
    undone["spec"]["template"] = copy.deepcopy(apply_defaults(web("python:3.11")))["spec"][
        "template"
    ]
    undone["spec"]["template"]["metadata"]["annotations"] = {"petset.dev/restartedAt": "now"}
    store.update(apply_defaults(undone))
    store.patch("StatefulSet", "web", "default", {"status": {"replicas": 2}})

    [out] = store.apply_many([web("python:3.12")], defaults=apply_defaults)
    assert out.action == "configured"
    assert template_image(out.obj) == "python:3.12"
    # What nobody's config sets stays: a controller's template annotation, the status.
    assert out.obj["spec"]["template"]["metadata"]["annotations"] == {
        "petset.dev/restartedAt": "now"
    }
    assert out.obj["status"] == {"replicas": 2}
    assert out.obj["metadata"]["generation"] == live["metadata"]["generation"] + 2

    mark = store.resource_version()
    [again] = store.apply_many([web("python:3.12")], defaults=apply_defaults)
    assert again.action == "unchanged"
    assert store.resource_version() == mark  # API defaults are not drift: nothing written


def test_a_field_the_config_does_not_set_is_not_drift() -> None:
    store = Store(":memory:")
    store.apply_many([web()], defaults=apply_defaults)
    store.patch("StatefulSet", "web", "default", {"spec": {"minReadySeconds": 5}})
    mark = store.resource_version()
    [out] = store.apply_many([web()], defaults=apply_defaults)
    assert out.action == "unchanged" and out.obj["spec"]["minReadySeconds"] == 5
    assert store.resource_version() == mark


def test_drift_patch_sets_what_differs_and_removes_nothing() -> None:
    live = {"a": 1, "b": {"c": 2, "d": 3}, "e": [1, 2], "keep": True}
    desired = {"a": 1, "b": {"c": 5}, "e": [1], "new": {"x": None}, "gone": None}
    assert drift_patch(live, desired) == {"b": {"c": 5}, "e": [1], "new": {}}
    assert drift_patch(live, {"a": 1, "b": {"c": 2}}) == {}
