"""StatefulSet identity through the real daemon: names, hostnames, storage and DNS that
survive pod deletion; ordinals.start; adoption and release (Kubernetes' e2e
"should provide basic identity" and "should adopt matching orphans and release
non-matching pods")."""

from __future__ import annotations

import pytest

from tests.acceptance.conftest import PetsetEnv
from tests.acceptance.statefulset.stsfixtures import (
    Api,
    cleanup,
    headless_service,
    pods_of,
    wait_for,
    wait_ready,
    web_set,
)

pytestmark = pytest.mark.acceptance


def _resolve(api: Api, pod: str, name: str) -> str:
    code, out = api.exec(pod, "getent", "hosts", name)
    return out.split()[0] if code == 0 and out.strip() else ""


def test_basic_identity_survives_pod_deletion(shared_petset_env: PetsetEnv, api: Api) -> None:
    env = shared_petset_env
    api.apply(headless_service("ident"), web_set("ident", 3))
    names = ["ident-0", "ident-1", "ident-2"]
    pods = wait_ready(api, "ident", names)
    ips = {n: p["status"]["podIP"] for n, p in pods.items()}
    for i, n in enumerate(names):
        spec, labels = pods[n]["spec"], pods[n]["metadata"]["labels"]
        assert (spec["hostname"], spec["subdomain"]) == (n, "ident")
        assert labels["statefulset.kubernetes.io/pod-name"] == n
        assert labels["apps.kubernetes.io/pod-index"] == str(i)
        claim = next(v for v in spec["volumes"] if v["name"] == "data")
        assert claim["persistentVolumeClaim"]["claimName"] == f"data-{n}"
        assert api.exec(n, "hostname") == (0, f"{n}\n")
        # The cluster DNS answers each member's stable name inside the pods.
        fqdn = f"{n}.ident.default.svc.cluster.local"
        found = wait_for(f"{fqdn} in DNS", lambda fqdn=fqdn: _resolve(api, "ident-0", fqdn))
        assert found == ips[n]
        assert api.exec(n, "sh", "-c", "hostname > /data/hostname")[0] == 0
    claims = {c["metadata"]["name"]: c for c in api.list("PersistentVolumeClaim", "app=ident")}
    assert sorted(claims) == [f"data-{n}" for n in names]
    assert all(c["status"]["phase"] == "Bound" for c in claims.values())
    # The page one member serves is fetched from another through the headless name.
    url = "http://ident-2.ident:8080/hostname"
    fetch = f"import urllib.request as u; print(u.urlopen({url!r}).read().decode())"
    code, out = api.exec("ident-0", "python3", "-c", fetch)
    assert (code, out.strip()) == (0, "ident-2")

    # Delete every pod ("restart" in the e2e test): the same identities come back.
    old_uids = {n: p["metadata"]["uid"] for n, p in pods.items()}
    out = env.ok("delete", "pod", "ident-0", "ident-1", "ident-2")
    assert out.count("deleted") == 3
    pods = wait_for(
        "new pods, all Ready",
        lambda: (
            (p := wait_ready(api, "ident", names, timeout=1))
            and all(p[n]["metadata"]["uid"] != old_uids[n] for n in names)
            and p
        ),
        timeout=60,
    )
    for n in names:
        assert pods[n]["status"]["podIP"] == ips[n], "a member keeps its IP"
        code, out = api.exec(n, "sh", "-c", '[ "$(cat /data/hostname)" = "$(hostname)" ]')
        assert code == 0, f"{n}: its claim came back with its data ({out})"
    assert _resolve(api, "ident-2", "ident-0.ident.default.svc.cluster.local") == ips["ident-0"]
    assert {c["metadata"]["uid"] for c in api.list("PersistentVolumeClaim", "app=ident")} == {
        c["metadata"]["uid"] for c in claims.values()
    }
    cleanup(api, "ident")


def test_ordinals_start(shared_petset_env: PetsetEnv, api: Api) -> None:
    env = shared_petset_env
    api.apply(web_set("ord", 2, claims=False, extra={"ordinals": {"start": 3}}))
    wait_ready(api, "ord", ["ord-3", "ord-4"])
    env.ok("scale", "sts/ord", "--replicas", "3")
    pods = wait_ready(api, "ord", ["ord-3", "ord-4", "ord-5"])
    assert pods["ord-5"]["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == "5"
    env.ok("scale", "sts/ord", "--replicas", "1")
    wait_ready(api, "ord", ["ord-3"])
    # Moving the start renames the members: the new range is created, the old removed.
    api.patch("StatefulSet", "ord", {"spec": {"ordinals": {"start": 0}}})
    wait_ready(api, "ord", ["ord-0"])
    cleanup(api, "ord")


def _controller_uid(api: Api, pod: str) -> str | None:
    obj = api.get("Pod", pod)
    refs = (obj or {}).get("metadata", {}).get("ownerReferences") or []
    refs = [r for r in refs if r.get("controller")]
    return refs[0]["uid"] if refs else None


def test_adopts_matching_orphans_and_releases_non_matching(
    shared_petset_env: PetsetEnv, api: Api
) -> None:
    api.apply(web_set("adopt", 1, claims=False))
    wait_ready(api, "adopt", ["adopt-0"])
    sts_uid = api.must("StatefulSet", "adopt")["metadata"]["uid"]
    pod_uid = api.must("Pod", "adopt-0")["metadata"]["uid"]

    # Orphan the pod: the set adopts it again (same pod, not a replacement).
    api.patch("Pod", "adopt-0", {"metadata": {"ownerReferences": None}})
    wait_for("adopt-0 re-adopted", lambda: _controller_uid(api, "adopt-0") == sts_uid)
    assert api.must("Pod", "adopt-0")["metadata"]["uid"] == pod_uid

    # Its labels stop matching: the set releases it and cannot reuse the name meanwhile.
    api.patch("Pod", "adopt-0", {"metadata": {"labels": {"app": "elsewhere"}}})
    wait_for("adopt-0 released", lambda: _controller_uid(api, "adopt-0") is None)
    sts = wait_for(
        "the set to say the name is taken",
        lambda: (
            (s := api.must("StatefulSet", "adopt"))
            and "adopt-0" in str(s.get("status", {}).get("conditions"))
            and s
        ),
    )
    assert sts["status"].get("replicas", 0) == 0
    assert api.must("Pod", "adopt-0")["metadata"]["uid"] == pod_uid

    # Labels back: adopted again.
    api.patch("Pod", "adopt-0", {"metadata": {"labels": {"app": "adopt"}}})
    wait_for("adopt-0 re-adopted", lambda: _controller_uid(api, "adopt-0") == sts_uid)
    assert api.must("Pod", "adopt-0")["metadata"]["uid"] == pod_uid
    assert list(pods_of(api, "adopt")) == ["adopt-0"]
    cleanup(api, "adopt")
