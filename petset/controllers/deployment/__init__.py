"""The Deployment controller: rollouts of stateless pods through ReplicaSets, as Kubernetes.

Modules: util (pure decisions), conditions, status, sync (one pass's actions),
rolling and recreate (the strategies), progress (deadline), rollout (the CLI's
history/undo/restart/pause/resume/status), reconcile (the entry point).
"""

from petset.controllers.deployment.reconcile import controller, reconcile

__all__ = ["controller", "reconcile"]
