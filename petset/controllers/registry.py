"""Every controller the local daemon runs. Each module contributes a `controller()`."""

from __future__ import annotations

from petset.api.settings import Settings
from petset.runtime.controller import Controller


def all_controllers(settings: Settings) -> list[Controller]:
    """The controllers for the local backend (on Kubernetes only petset's own kinds run)."""
    found: list[Controller] = []
    return found
