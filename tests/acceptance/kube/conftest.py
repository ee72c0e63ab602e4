"""A session-wide real control plane (see apiserver.py) and a namespace per test.

The binaries are built on first use (minutes, with progress) and cached outside
the repository; when they cannot be built or started, every test that needs
them is skipped with the reason.
"""

from __future__ import annotations

import contextlib
import os
import random
import string
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from petset.api.errors import NotFoundError
from petset.kube.cluster import KubeCluster
from tests.acceptance.kube.apiserver import ControlPlane, Unavailable, find_binaries


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    try:
        bin_dir = find_binaries(build=os.geteuid() == 0)
    except Unavailable as err:
        pytest.skip(f"no kube-apiserver: {err}")
    plane = ControlPlane(bin_dir, tmp_path_factory.mktemp("kube"))
    try:
        plane.start()
    except Unavailable as err:
        plane.stop()
        pytest.skip(f"kube-apiserver did not start: {err}")
    try:
        yield plane
    finally:
        plane.stop()


@pytest.fixture
def kube(control_plane: ControlPlane) -> KubeCluster:
    return KubeCluster.from_config(str(control_plane.kubeconfig))


@pytest.fixture
def namespace(kube: KubeCluster) -> Iterator[str]:
    name = "t-" + "".join(random.choices(string.ascii_lowercase + string.digits, k=8))
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    # pods are refused until kube-controller-manager gave the namespace its
    # default ServiceAccount and that account its token
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(NotFoundError):
            if kube.get("ServiceAccount", "default", name).get("secrets"):
                break
        time.sleep(0.1)
    yield name
    kube.delete("Namespace", name)


@pytest.fixture
def kubeconfig(control_plane: ControlPlane) -> Path:
    return control_plane.kubeconfig
