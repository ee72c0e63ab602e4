"""One Deployment sync pass: its ReplicaSets, the new one, scaling and cleanup (sync.go).

`Sync` carries what a pass observed (the Deployment as last written, the time)
and collects one sentence per action; the strategies in rolling.py and
recreate.py drive it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime

from petset.api.errors import AlreadyExistsError, ConflictError, NotFoundError
from petset.api.meta import Obj, annotations_of, controller_ref, is_being_deleted, uid_of
from petset.api.selectors import Selector
from petset.controllers.deployment import conditions as cond
from petset.controllers.deployment import util
from petset.controllers.deployment.common import claim, new_controller_ref
from petset.controllers.deployment.status import calculate_status
from petset.runtime.cluster import Cluster
from petset.runtime.controller import TemporaryError


@dataclass
class Sync:
    cluster: Cluster
    d: Obj  # the Deployment as last read or written, with API defaults applied
    now: datetime
    steps: list[str] = field(default_factory=list)

    # -- the Deployment itself ----------------------------------------------------------
    @property
    def name(self) -> str:
        return str(self.d["metadata"]["name"])

    @property
    def namespace(self) -> str:
        return str(self.d["metadata"].get("namespace") or "default")

    def note(self, sentence: str) -> None:
        self.steps.append(sentence)

    def event(self, reason: str, message: str, *, warning: bool = False) -> None:
        self.cluster.record_event(
            self.d,
            type="Warning" if warning else "Normal",
            reason=reason,
            message=message,
            source="deployment-controller",
        )

    def write_status(self, status: Obj) -> None:
        if status == (self.d.get("status") or {}):
            return
        new = copy.deepcopy(self.d)
        new["status"] = status
        self.d = util.with_defaults(self.cluster.update_status(new))

    def set_revision(self, revision: str) -> None:
        """Record the new ReplicaSet's revision on the Deployment (a metadata merge patch:
        status writes in petset never carry metadata)."""
        if (self.d["metadata"].get("annotations") or {}).get(util.REVISION) == revision:
            return
        patch = {"metadata": {"annotations": {util.REVISION: revision}}}
        self.d = util.with_defaults(
            self.cluster.patch("Deployment", self.name, self.namespace, patch)
        )

    # -- observing -------------------------------------------------------------------------
    def replica_sets(self, selector: Selector) -> list[Obj]:
        """getReplicaSetsForDeployment: the ReplicaSets it controls, adopting and releasing."""
        candidates = self.cluster.list("ReplicaSet", self.namespace)
        return claim(self.cluster, self.d, candidates, selector, self.steps)

    def pods_by_rs(self, rss: list[Obj]) -> dict[str, list[Obj]]:
        uids = {uid_of(rs) for rs in rss}
        found: dict[str, list[Obj]] = {u: [] for u in uids}
        for pod in self.cluster.list("Pod", self.namespace):
            ref = controller_ref(pod)
            if ref is not None and ref.get("uid") in uids:
                found[str(ref["uid"])].append(pod)
        return found

    def all_rss_and_sync_revision(
        self, rs_list: list[Obj], create: bool
    ) -> tuple[Obj | None, list[Obj]]:
        olds = util.find_old_rss(self.d, rs_list)
        return self.new_rs(rs_list, olds, create), olds

    # -- the new ReplicaSet --------------------------------------------------------------
    def new_rs(self, rs_list: list[Obj], olds: list[Obj], create: bool) -> Obj | None:
        new_revision = util.max_revision(olds) + 1
        existing = util.find_new_rs(self.d, rs_list)
        if existing is not None:
            self._sync_existing_new_rs(existing, new_revision)
            return existing
        if not create:
            return None
        return self._create_new_rs(olds, new_revision)

    def _sync_existing_new_rs(self, rs: Obj, new_revision: int) -> None:
        updated = copy.deepcopy(rs)
        changed = util.set_new_rs_annotations(self.d, updated, new_revision, exists=True)
        min_ready = self.d["spec"].get("minReadySeconds", 0)
        if changed or (updated["spec"].get("minReadySeconds") or 0) != min_ready:
            updated["spec"]["minReadySeconds"] = min_ready
            _replace(rs, self.cluster.update(updated))
        self.set_revision(annotations_of(rs).get(util.REVISION, str(new_revision)))
        status = copy.deepcopy(self.d.get("status") or {})
        if (
            util.has_progress_deadline(self.d)
            and cond.get_condition(status, cond.PROGRESSING) is None
        ):
            message = f'Found new replica set "{rs["metadata"]["name"]}"'
            cond.set_condition(
                status,
                cond.new_condition(cond.PROGRESSING, "True", cond.FOUND_NEW_RS, message, self.now),
            )
            self.write_status(status)

    def _new_rs_object(self, template_hash: str) -> Obj:
        template = copy.deepcopy(util.template_of(self.d))
        tmeta = template.setdefault("metadata", {})
        tmeta["labels"] = {**(tmeta.get("labels") or {}), util.POD_TEMPLATE_HASH: template_hash}
        selector = copy.deepcopy(self.d["spec"].get("selector") or {})
        selector["matchLabels"] = {
            **(selector.get("matchLabels") or {}),
            util.POD_TEMPLATE_HASH: template_hash,
        }
        return {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"{self.name}-{template_hash}",
                "namespace": self.namespace,
                "labels": dict(tmeta["labels"]),
                "ownerReferences": [new_controller_ref(self.d)],
            },
            "spec": {
                "replicas": 0,
                "minReadySeconds": self.d["spec"].get("minReadySeconds", 0),
                "selector": selector,
                "template": template,
            },
        }

    def _create_new_rs(self, olds: list[Obj], new_revision: int) -> Obj:
        collisions = (self.d.get("status") or {}).get("collisionCount")
        rs = self._new_rs_object(util.compute_hash(util.template_of(self.d), collisions))
        replicas = util.new_rs_new_replicas(self.d, [*olds, rs], rs)
        rs["spec"]["replicas"] = replicas
        util.set_new_rs_annotations(self.d, rs, new_revision, exists=False)
        name = rs["metadata"]["name"]
        try:
            created = self.cluster.create(rs)
            fresh = True
        except AlreadyExistsError:
            created, fresh = self._claim_existing_or_collide(name, collisions), False
        if fresh:
            self.note(
                f"Created ReplicaSet {name} (revision {new_revision}) with {replicas} replicas."
            )
            if replicas > 0:
                self.event(
                    "ScalingReplicaSet", f"Scaled up replica set {name} from 0 to {replicas}"
                )
        self.set_revision(str(new_revision))
        if fresh and util.has_progress_deadline(self.d):
            status = copy.deepcopy(self.d.get("status") or {})
            message = f'Created new replica set "{name}"'
            cond.set_condition(
                status,
                cond.new_condition(
                    cond.PROGRESSING, "True", cond.NEW_REPLICA_SET, message, self.now
                ),
            )
            self.write_status(status)
        return created

    def _claim_existing_or_collide(self, name: str, collisions: int | None) -> Obj:
        """A ReplicaSet of that name exists: ours (a stale read) or a hash collision, which
        bumps status.collisionCount so the next pass computes a different hash."""
        try:
            existing = self.cluster.get("ReplicaSet", name, self.namespace)
        except NotFoundError as exc:
            raise TemporaryError(f"ReplicaSet {name} vanished while creating it; retrying") from exc
        ref = controller_ref(existing)
        if (
            ref
            and ref.get("uid") == uid_of(self.d)
            and util.equal_ignore_hash(util.template_of(existing), util.template_of(self.d))
        ):
            return existing
        status = copy.deepcopy(self.d.get("status") or {})
        status["collisionCount"] = (collisions or 0) + 1
        self.write_status(status)
        raise TemporaryError(
            f"ReplicaSet {name} exists with another template (hash collision); "
            f"collisionCount is now {status['collisionCount']}"
        )

    # -- scaling ---------------------------------------------------------------------------
    def scale_rs_and_record_event(self, rs: Obj, new_scale: int) -> bool:
        if util.spec_replicas(rs) == new_scale:
            return False
        direction = "up" if util.spec_replicas(rs) < new_scale else "down"
        return self.scale_rs(rs, new_scale, direction)

    def scale_rs(self, rs: Obj, new_scale: int, direction: str) -> bool:
        """Set the size and the desired/max-replicas annotations; True when the size changed."""
        replicas = util.spec_replicas(self.d)
        maximum = replicas + util.max_surge(self.d)
        old = util.spec_replicas(rs)
        resize = old != new_scale
        if not resize and not util.replicas_annotations_need_update(rs, replicas, maximum):
            return False
        updated = copy.deepcopy(rs)
        updated["spec"]["replicas"] = new_scale
        util.set_replicas_annotations(updated, replicas, maximum)
        _replace(rs, self.cluster.update(updated))
        if resize:
            message = (
                f"Scaled {direction} replica set {rs['metadata']['name']} from {old} to {new_scale}"
            )
            self.event("ScalingReplicaSet", message)
            self.note(message + ".")
        return resize

    def is_scaling_event(self, rs_list: list[Obj]) -> bool:
        """The Deployment's replicas differ from what its active ReplicaSets were sized for."""
        new, olds = self.all_rss_and_sync_revision(rs_list, create=False)
        for rs in util.active([*olds, *([new] if new else [])]):
            desired = util.desired_annotation(rs)
            if desired is not None and desired != util.spec_replicas(self.d):
                return True
        return False

    def scale(self, new: Obj | None, olds: list[Obj]) -> None:
        """Scaling event or paused: resize without advancing the rollout (proportionally when
        several ReplicaSets are active, so an unproven template does not grow faster)."""
        replicas = util.spec_replicas(self.d)
        only = util.find_active_or_latest(new, olds)
        if only is not None:
            self.scale_rs_and_record_event(only, replicas)
            return
        if util.is_saturated(self.d, new):
            for old in util.active(olds):
                self.scale_rs_and_record_event(old, 0)
            return
        if not util.is_rolling(self.d):
            return
        live = util.active([*olds, *([new] if new else [])])
        allowed = replicas + util.max_surge(self.d) if replicas > 0 else 0
        to_add = allowed - util.total_spec(live)
        if to_add > 0:
            live, direction = util.by_size_newer(live), "up"
        elif to_add < 0:
            live, direction = util.by_size_older(live), "down"
        else:
            direction = "up"
        sizes: dict[str, int] = {}
        added = 0
        for rs in live:
            share = util.get_proportion(rs, self.d, to_add, added)
            sizes[uid_of(rs)] = util.spec_replicas(rs) + share
            added += share
        for i, rs in enumerate(live):
            size = sizes[uid_of(rs)]
            if i == 0 and to_add != 0:  # leftovers go to the largest
                size = max(size + to_add - added, 0)
            self.scale_rs(rs, size, direction)

    def sync(self, rs_list: list[Obj]) -> None:
        """Scaling events and paused Deployments: scale, clean up if paused, write status."""
        new, olds = self.all_rss_and_sync_revision(rs_list, create=False)
        self.scale(new, olds)
        if self.d["spec"].get("paused"):
            self.cleanup(olds)
        self.write_status(calculate_status(self.d, [*olds, *([new] if new else [])], new, self.now))

    def cleanup(self, olds: list[Obj]) -> None:
        """Delete the oldest empty ReplicaSets beyond spec.revisionHistoryLimit."""
        limit = int(self.d["spec"].get("revisionHistoryLimit", 10))
        if limit == util.MAX_INT32:
            return
        alive = [rs for rs in olds if not is_being_deleted(rs)]
        for rs in util.by_revision(alive)[: max(len(alive) - limit, 0)]:
            observed = (rs.get("status") or {}).get("observedGeneration", 0)
            if (
                util.status_int(rs, "replicas")
                or util.spec_replicas(rs)
                or rs["metadata"].get("generation", 1) > observed
            ):
                continue  # still has pods, or its controller has not caught up yet
            try:
                self.cluster.delete(
                    "ReplicaSet", rs["metadata"]["name"], self.namespace, uid=uid_of(rs)
                )
            except (NotFoundError, ConflictError):
                continue  # gone, or a namesake with another uid
            self.note(
                f"Deleted old ReplicaSet {rs['metadata']['name']} (revision {util.revision(rs)}): "
                f"beyond revisionHistoryLimit {limit}."
            )


def _replace(target: Obj, source: Obj) -> None:
    """Update a ReplicaSet in place so every list holding it sees the written version."""
    target.clear()
    target.update(source)
