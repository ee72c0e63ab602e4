"""What the chaos rounds read and change on the cluster through the daemon's API.

Spec changes are JSON merge patches of the MySQLCluster (what `kubectl patch
--type=merge` sends), checked by the daemon like any user input.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from bench.ha import HA
from bench.mysqlkit import cluster_status

CLUSTER = "mysql"


class RoundFailed(Exception):
    """A fault ran, but the round's own check failed (e.g. a rollout did not complete)."""

    def __init__(self, did: str, why: str) -> None:
        super().__init__(f"{did}: {why}")
        self.did = did
        self.why = why


def patch_cluster(ha: HA, patch: dict[str, Any]) -> None:
    """Merge-patch the cluster; retried on 409, which the daemon answers when the
    engine wrote status between its read and its write of the object."""
    with ha.d.http() as c:
        for _ in range(20):
            resp = c.patch(
                f"/v1/objects/MySQLCluster/{CLUSTER}", params={"namespace": "default"}, json=patch
            )
            if resp.status_code != 409:
                break
            time.sleep(0.2)
        if resp.status_code >= 400:
            raise RuntimeError(f"patching mysqlcluster/{CLUSTER}: {resp.text}")


def list_objects(ha: HA, kind: str, selector: str | None = None) -> list[dict[str, Any]]:
    params = {"namespace": "default", **({"labelSelector": selector} if selector else {})}
    with ha.d.http() as c:
        resp = c.get(f"/v1/objects/{kind}", params=params)
        resp.raise_for_status()
        items: list[dict[str, Any]] = resp.json()["items"]
        return items


def pod_revisions(ha: HA) -> dict[str, str | None]:
    """member -> its pod's controller-revision-hash (None: pod being replaced)."""
    pods = list_objects(ha, "Pod", f"petset.dev/cluster={CLUSTER}")
    out: dict[str, str | None] = {}
    for p in pods:
        if p["metadata"].get("deletionTimestamp"):
            continue
        out[p["metadata"]["name"]] = p["metadata"].get("labels", {}).get("controller-revision-hash")
    return out


def update_revision(ha: HA) -> str | None:
    sts = ha.d.get("StatefulSet", CLUSTER)
    rev = (sts.get("status") or {}).get("updateRevision")
    return str(rev) if rev else None


def rollout_state(ha: HA) -> dict[str, Any]:
    rollout: dict[str, Any] = cluster_status(ha.d).get("rollout") or {}
    return rollout


def roles(ha: HA) -> dict[str, str]:
    """member -> 'primary' | 'replica' | ... as status.members says, with health."""
    members = cluster_status(ha.d).get("members") or []
    return {
        str(m["name"]): f"{m.get('role', '?')}{'' if m.get('healthy') else ' (unhealthy)'}"
        for m in members
    }


def _when(event: dict[str, Any]) -> dt.datetime | None:
    for key in ("lastTimestamp", "eventTime", "firstTimestamp"):
        text = event.get(key) or (event.get("metadata") or {}).get("creationTimestamp")
        if text:
            try:
                return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
            except ValueError:
                continue
    return None


def events_since(ha: HA, since: dt.datetime) -> list[str]:
    """'Kind/name Reason: message' of every Event at or after `since` (UTC), oldest first."""
    lines: list[tuple[dt.datetime, str]] = []
    for e in list_objects(ha, "Event"):
        when = _when(e)
        if when is None or when < since.replace(microsecond=0):
            continue
        obj = e.get("involvedObject") or {}
        text = f"{obj.get('kind')}/{obj.get('name')} {e.get('reason')}: {e.get('message')}"
        lines.append((when, text))
    return [text for _, text in sorted(lines, key=lambda x: x[0])]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
