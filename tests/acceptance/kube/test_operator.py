"""The operator on a real control plane: CRDs, owned objects, status, Events,
garbage collection by Kubernetes, and one leader at a time."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from petset.api.errors import InvalidError, NotFoundError
from petset.api.meta import Obj
from petset.kube.cluster import KubeCluster
from petset.kube.install import LEASE_NAME, NAME, InstallOptions, render_install
from petset.kube.operator import install_crds

# the first test to need the control plane may build it (minutes, once per machine)
pytestmark = [pytest.mark.acceptance, pytest.mark.timeout(1800)]
REPO = Path(__file__).resolve().parents[3]
T = TypeVar("T")


def eventually(probe: Callable[[], T | None], timeout: float = 30.0, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = probe()
        except NotFoundError:
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.3)


class Operator:
    def __init__(self, kubeconfig: Path, namespace: str, identity: str, log: Path) -> None:
        self.log = log
        argv = [sys.executable, "-m", "petset.cli", "operator", f"--namespace={namespace}",
                f"--kubeconfig={kubeconfig}", f"--lease-namespace={namespace}",
                f"--identity={identity}"]  # fmt: skip
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(argv, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


@pytest.fixture
def start_operator(kubeconfig: Path, namespace: str, tmp_path: Path) -> Iterator[Any]:
    started: list[Operator] = []

    def start(identity: str) -> Operator:
        op = Operator(kubeconfig, namespace, identity, tmp_path / f"{identity}.log")
        started.append(op)
        return op

    yield start
    for op in started:
        op.stop()


@pytest.fixture
def crds(kube: KubeCluster) -> None:
    install_crds(kube)

    def established() -> bool:
        for name in ("mysqlclusters", "backups", "backupschedules"):
            crd = kube.get("CustomResourceDefinition", f"{name}.petset.dev")
            conds = {c["type"]: c["status"] for c in crd.get("status", {}).get("conditions", [])}
            if conds.get("Established") != "True":
                return False
        return True

    eventually(established, 20, "CRDs established")


def _cluster(ns: str, replicas: int = 2) -> Obj:
    return {"apiVersion": "petset.dev/v1alpha1", "kind": "MySQLCluster",
            "metadata": {"name": "shop", "namespace": ns},
            "spec": {"replicas": replicas}}  # fmt: skip


def _holder(kube: KubeCluster, ns: str) -> str | None:
    spec = kube.get("Lease", LEASE_NAME, ns).get("spec") or {}
    return spec.get("holderIdentity")


def test_crds_serve_petset_kinds_with_schema_and_defaults(
    kube: KubeCluster, namespace: str, crds: None
) -> None:
    made = kube.create(_cluster(namespace, replicas=3))
    assert made["spec"]["semiSync"] is True  # default from the model, applied by the server
    assert made["spec"]["storage"]["size"] == "1Gi"
    with pytest.raises(InvalidError) as err:
        kube.create({**_cluster(namespace, replicas=0), "metadata": {"name": "bad"}})
    assert "spec.replicas" in str(err.value)


def test_operator_creates_owned_objects_and_kubernetes_collects_them(
    kube: KubeCluster, namespace: str, crds: None, start_operator: Any
) -> None:
    op = start_operator("op-a")
    cluster = kube.create(_cluster(namespace))
    uid = cluster["metadata"]["uid"]
    owned = [("StatefulSet", "shop"), ("Service", "shop"), ("Service", "shop-rw"),
             ("Service", "shop-ro"), ("ConfigMap", "shop-config"), ("Secret", "shop-credentials"),
             ("PodDisruptionBudget", "shop")]  # fmt: skip
    for kind, name in owned:
        obj = eventually(lambda k=kind, n=name: kube.get(k, n, namespace), 40, f"{kind}/{name}")
        refs = obj["metadata"].get("ownerReferences") or []
        assert [(r["kind"], r["uid"], r["controller"]) for r in refs] == [
            ("MySQLCluster", uid, True)
        ], f"{kind}/{name}"
    # Kubernetes' own StatefulSet controller makes the pods; no kubelet runs them
    pod = eventually(lambda: kube.get("Pod", "shop-0", namespace), 30, "pod shop-0")
    assert pod["status"].get("phase", "Pending") == "Pending"

    def waiting_status() -> Obj | None:
        status = kube.get("MySQLCluster", "shop", namespace).get("status") or {}
        return status if "waiting" in str(status.get("message", "")) else None

    status = eventually(waiting_status, 30, "status saying it waits")
    assert status["phase"] != "Ready" and status["replicas"] == 2
    assert status["readyMembers"] == 0
    events = eventually(
        lambda: kube.list("Event", namespace, field_selector=f"involvedObject.uid={uid}"),
        20, "Events on the MySQLCluster",
    )  # fmt: skip
    assert any("waiting" in e["message"] and e["source"]["component"] == "petset" for e in events)
    assert op.proc.poll() is None, op.text()

    kube.delete("MySQLCluster", "shop", namespace)
    for kind, name in [*owned, ("Pod", "shop-0")]:

        def gone(k: str = kind, n: str = name) -> bool:
            try:
                kube.get(k, n, namespace)
            except NotFoundError:
                return True
            return False

        eventually(gone, 90, f"{kind}/{name} collected")
    # a pet's volume outlives its set: the claim is retained
    assert kube.get("PersistentVolumeClaim", "data-shop-0", namespace)
    eventually(lambda: "MySQLCluster shop is gone" in op.text(), 20, "the operator noticing")
    assert op.proc.poll() is None, op.text()


def test_a_second_operator_stays_passive_until_the_leader_leaves(
    kube: KubeCluster, namespace: str, crds: None, start_operator: Any
) -> None:
    a = start_operator("op-a")
    eventually(lambda: _holder(kube, namespace) == "op-a", 30, "op-a leading")
    b = start_operator("op-b")
    eventually(lambda: "waiting to lead" in b.text(), 30, "op-b trying for the lease")
    kube.create(_cluster(namespace, replicas=1))
    eventually(lambda: kube.get("StatefulSet", "shop", namespace), 30, "the leader acting")
    time.sleep(4)  # two of op-b's retry periods
    assert _holder(kube, namespace) == "op-a"
    assert "became leader" not in b.text() and "mysqlcluster" not in b.text(), b.text()
    assert a.stop() == 0  # SIGTERM: the leader releases the Lease on its way out
    eventually(lambda: _holder(kube, namespace) == "op-b", 15, "op-b taking over")
    eventually(lambda: "became leader" in b.text(), 10, "op-b says it leads")


def _token_kubeconfig(kube: KubeCluster, plane_kubeconfig: Path, ns: str, out: Path) -> Path:
    """A kubeconfig that authenticates as the operator's ServiceAccount (its token)."""
    import base64

    import yaml

    def token() -> str | None:
        sa = kube.get("ServiceAccount", NAME, ns)
        names = [s["name"] for s in sa.get("secrets") or []]
        if not names:
            return None
        return base64.b64decode(kube.get("Secret", names[0], ns)["data"]["token"]).decode()

    cfg = yaml.safe_load(plane_kubeconfig.read_text())
    cfg["users"] = [{"name": "admin", "user": {"token": eventually(token, 30, "SA token")}}]
    out.write_text(yaml.safe_dump(cfg))
    return out


def test_the_rendered_least_privilege_rbac_is_enough_for_the_operator(
    kube: KubeCluster, namespace: str, crds: None, kubeconfig: Path, tmp_path: Path
) -> None:
    install = render_install(InstallOptions(namespace=namespace, watch_namespace=namespace))
    for obj in install:
        if obj["kind"] in ("ServiceAccount", "Role", "RoleBinding"):
            kube.create(obj)
    as_operator = _token_kubeconfig(kube, kubeconfig, namespace, tmp_path / "sa.kubeconfig")
    op = Operator(as_operator, namespace, "op-rbac", tmp_path / "op-rbac.log")
    try:
        uid = kube.create(_cluster(namespace, replicas=1))["metadata"]["uid"]
        for kind, name in [("StatefulSet", "shop"), ("Secret", "shop-credentials"),
                           ("PodDisruptionBudget", "shop"), ("Service", "shop-rw")]:  # fmt: skip
            eventually(lambda k=kind, n=name: kube.get(k, n, namespace), 40, f"{kind}/{name}")
        eventually(
            lambda: kube.list("Event", namespace, field_selector=f"involvedObject.uid={uid}"),
            30, "Events written with the operator's own rights",
        )  # fmt: skip
        status = eventually(
            lambda: kube.get("MySQLCluster", "shop", namespace).get("status"), 30, "status"
        )
        assert "waiting" in status["message"]
        assert "forbidden" not in op.text(), op.text()
    finally:
        assert op.stop() == 0, op.text()
