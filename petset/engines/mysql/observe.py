"""Observation: credentials, and one view per member (its pod as the node
reports it, its server as SQL answers). No decisions, no changes to members."""

from __future__ import annotations

import base64
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from petset.api.errors import AlreadyExistsError, NotFoundError
from petset.api.meta import Obj, labels_of, name_of
from petset.api.petset_kinds import MySQLClusterSpec
from petset.engines.mysql import sql
from petset.engines.mysql.links import Links
from petset.engines.mysql.render import CLUSTER_LABEL, ROLE_LABEL, render_secret, secret_name
from petset.engines.mysql.topology import MemberView
from petset.runtime.cluster import Cluster


@dataclass(frozen=True)
class Members:
    admin: sql.Credentials
    repl: sql.Credentials


def _secret_value(secret: Obj, key: str) -> str:
    if key in (secret.get("stringData") or {}):
        return str(secret["stringData"][key])
    raw = (secret.get("data") or {}).get(key)
    if raw is None:
        raise NotFoundError(f"Secret {name_of(secret)!r} has no key {key!r}")
    return base64.b64decode(raw).decode()


def ensure_credentials(cluster: Cluster, obj: Obj, spec: MySQLClusterSpec) -> Members:
    ns = obj["metadata"]["namespace"]
    name = secret_name(obj, spec)
    try:
        secret = cluster.get("Secret", name, ns)
    except NotFoundError:
        if spec.credentials_secret:
            raise NotFoundError(
                f"spec.credentialsSecret: Secret {name!r} not found in namespace {ns!r}; "
                "create it with keys admin-password, replication-password and app-password, "
                "or remove the field"
            ) from None
        passwords = {
            "admin-password": secrets.token_urlsafe(18),
            "replication-password": secrets.token_urlsafe(18),
            "app-password": secrets.token_urlsafe(18),
        }
        try:
            secret = cluster.create(render_secret(obj, spec, passwords))
        except AlreadyExistsError:
            secret = cluster.get("Secret", name, ns)
    return Members(
        admin=sql.Credentials("petset_admin", _secret_value(secret, "admin-password")),
        repl=sql.Credentials("petset_repl", _secret_value(secret, "replication-password")),
    )


def _container(pod: Obj, name: str) -> tuple[bool, int, bool]:
    """(running, restartCount, in CrashLoopBackOff) of one container of a pod."""
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        if cs.get("name") == name:
            state = cs.get("state") or {}
            looping = (state.get("waiting") or {}).get("reason") == "CrashLoopBackOff"
            return "running" in state, int(cs.get("restartCount") or 0), looping
    return False, 0, False


def _pod_ready(pod: Obj) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _parse_ts(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def observe_members(
    cluster: Cluster,
    obj: Obj,
    replicas: int,
    creds: Members,
    *,
    links: Links | None = None,
    silent_since: dict[str, float] | None = None,
) -> tuple[list[MemberView], dict[str, Obj]]:
    """Every member's view, observed in parallel. `links`: persistent
    connections (None: one connection per observation). `silent_since`: when a
    pulse first got no answer from a member (epoch seconds); it is forgotten
    for members that answer."""
    ns = obj["metadata"]["namespace"]
    name = name_of(obj)
    pods = {
        name_of(p): p for p in cluster.list("Pod", ns, label_selector=f"{CLUSTER_LABEL}={name}")
    }
    previous = {m["name"]: m for m in (obj.get("status") or {}).get("members") or []}
    names = [f"{name}-{i}" for i in range(replicas)]
    names += sorted(set(pods) - set(names))
    silent = {} if silent_since is None else silent_since

    def look(member: str) -> MemberView:
        pod = pods.get(member)
        ordinal = int(member.rsplit("-", 1)[1])
        if pod is None:
            silent.pop(member, None)
            return MemberView(member, ordinal, None, pod_exists=False)
        ip = (pod.get("status") or {}).get("podIP")
        running, restarts, looping = _container(pod, "mariadbd")
        terminating = bool(pod["metadata"].get("deletionTimestamp"))
        status = None
        since = _parse_ts(previous.get(member, {}).get("unreachableSince"))
        if member in silent:
            since = min(silent[member], since or silent[member])
        if running and ip and not terminating:
            try:
                if links is None:
                    status = sql.observe(ip, creds.admin)
                else:
                    status = links.get(ip, creds.admin).observe()
            except sql.MemberUnreachable as exc:
                # Nothing listening: the process died (the kubelet may not have
                # noticed yet, or restarted it and crash recovery is running).
                running = not exc.refused
                since = since or time.time()
        if status is not None or not running:
            silent.pop(member, None)
            since = None
        # counted up to the moment the last attempt gave up, not the pass's start
        return MemberView(
            member,
            ordinal,
            ip,
            pod_exists=True,
            running=running and not terminating,
            role_label=labels_of(pod).get(ROLE_LABEL),
            status=status,
            unreachable_for=0.0 if since is None else max(0.0, time.time() - since),
            unreachable_since=since,
            restarts=restarts,
            crashlooping=looping,
            stopping=terminating and running,
            serving=_pod_ready(pod),
        )

    with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
        views = list(pool.map(look, names))
    if links is not None:
        links.retain({v.ip for v in views if v.ip})
    return views, pods
