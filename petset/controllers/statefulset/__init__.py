"""The StatefulSet controller: Kubernetes' algorithm, run by petset's local daemon.

Pods `<set>-<ordinal>` with stable names, hostnames (`<pod>.<serviceName>`)
and claims (`<template>-<set>-<ordinal>`), created in order and removed in
reverse order, rolled to new revisions as Kubernetes does (RollingUpdate with
partition and maxUnavailable, or OnDelete), with the same status, revisions
and Events. See `control.py` for the pass and `rolling.py` for updates.

Extensions beyond Kubernetes (each documented where it lives):

* pause: `petset.dev/paused: "true"` on the set holds rolling updates while
  scaling still works (`rolling.py`, `petset rollout pause|resume`);
* stuck-rollout recovery, kubernetes#67250 (`rolling.recover_stuck`);
* claim expansion when a volumeClaimTemplate's storage request grows
  (`claims.py`);
* a `Progressing` status condition and an Event for every step of a rollout,
  with the sentence the pass ended with (`status.py`).

On a Kubernetes backend this controller does not run: Kubernetes' own does.
"""

from __future__ import annotations

from petset.controllers.statefulset.reconcile import reconcile
from petset.runtime.controller import Controller


def controller() -> Controller:
    return Controller(
        name="statefulset",
        kind="StatefulSet",
        reconcile=reconcile,
        owns=("Pod", "PersistentVolumeClaim", "ControllerRevision"),
    )


__all__ = ["controller", "reconcile"]
