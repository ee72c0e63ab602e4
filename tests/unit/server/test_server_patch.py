"""A user's patch racing a controller's status write is retried, as the API
server retries patches; one that pins a resourceVersion gets its conflict."""

from __future__ import annotations

from typing import Any

import pytest

from petset.api.errors import ConflictError
from petset.api.meta import Obj
from petset.runtime.memory import MemoryCluster
from petset.server.app import patch_checked

CM: Obj = {"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "c", "namespace": "default"}, "data": {"a": "1"}}  # fmt: skip


class RacingCluster(MemoryCluster):
    """Another writer changes the object between each read and the next `races` patches."""

    def __init__(self, races: int) -> None:
        super().__init__()
        self.races = races

    def patch(self, kind: str, name: str, namespace: str, patch: Obj, **kw: Any) -> Obj:
        if self.races > 0:
            self.races -= 1
            super().patch(kind, name, namespace, {"metadata": {"labels": {"w": str(self.races)}}})
        return super().patch(kind, name, namespace, patch, **kw)


def test_a_patch_racing_another_writer_is_applied_on_top_of_its_write() -> None:
    cluster = RacingCluster(races=2)
    cluster.create(CM)
    result = patch_checked(cluster, "ConfigMap", "c", "default", {"data": {"b": "2"}})
    assert result["data"] == {"a": "1", "b": "2"}
    assert result["metadata"]["labels"] == {"w": "0"}  # the other writer's change is kept


def test_a_patch_that_pins_a_resource_version_gets_the_conflict() -> None:
    cluster = RacingCluster(races=1)
    rv = cluster.create(CM)["metadata"]["resourceVersion"]
    patch = {"metadata": {"resourceVersion": rv}, "data": {"b": "2"}}
    with pytest.raises(ConflictError):
        patch_checked(cluster, "ConfigMap", "c", "default", patch)
    assert "b" not in cluster.get("ConfigMap", "c", "default")["data"]
