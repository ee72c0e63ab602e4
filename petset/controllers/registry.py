"""Every controller the local daemon runs. Each module contributes a `controller()`."""

from __future__ import annotations

from petset.api.settings import Settings
from petset.controllers import deployment, gc, replicaset, services
from petset.controllers import statefulset as statefulset_controller
from petset.controllers import volumes as volume_controllers
from petset.runtime.controller import Controller


def all_controllers(settings: Settings) -> list[Controller]:
    """The controllers for the local backend (on Kubernetes only petset's own kinds run)."""
    found: list[Controller] = []
    found.append(gc.controller())
    found.append(services.controller(settings))
    found.append(volume_controllers.claim_controller(settings))
    found.append(volume_controllers.volume_controller(settings))
    found.append(replicaset.controller())
    found.append(deployment.controller())
    found.append(statefulset_controller.controller())
    return found
