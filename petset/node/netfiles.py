"""The network files a pod sees: /etc/resolv.conf and /etc/hosts, as a kubelet writes them.

The sandbox binds the returned host files over the pod's /etc; they live under
the pod's own directory so they go away with it. resolv.conf cannot name a
port, so in-pod lookups reach the cluster DNS only when it listens on port 53;
when it cannot, clusterhosts.py puts the cluster's names in the hosts file.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from petset.api.meta import Obj, name_of, namespace_of
from petset.api.settings import Settings
from petset.node.mounts import Mount
from petset.node.paths import pod_dir

HostEntries = list[tuple[str, list[str]]]  # (ip, names)


def resolv_conf(namespace: str, cluster_domain: str, nameserver: str) -> str:
    """Kubernetes' ClusterFirst resolv.conf: the pod's namespace first, ndots:5."""
    search = f"{namespace}.svc.{cluster_domain} svc.{cluster_domain} {cluster_domain}"
    return f"nameserver {nameserver}\nsearch {search}\noptions ndots:5\n"


def hosts_file(pod: Obj, cluster_domain: str, *, extra: HostEntries | None = None) -> str:
    """The kubelet's managed hosts file: localhost plus the pod's own IP and names
    (then `extra` lines: the cluster's names when pods cannot reach its DNS)."""
    spec = pod.get("spec") or {}
    lines = [
        "# Kubernetes-managed hosts file (petset).",
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "fe00::0\tip6-localnet",
        "fe00::0\tip6-mcastprefix",
        "fe00::1\tip6-allnodes",
        "fe00::2\tip6-allrouters",
    ]
    ip = (pod.get("status") or {}).get("podIP")
    if ip:
        hostname = spec.get("hostname") or name_of(pod)
        subdomain = spec.get("subdomain")
        if subdomain:
            fqdn = f"{hostname}.{subdomain}.{namespace_of(pod)}.svc.{cluster_domain}"
            lines.append(f"{ip}\t{fqdn}\t{hostname}")
        else:
            lines.append(f"{ip}\t{hostname}")
    for alias in spec.get("hostAliases") or []:
        names = "\t".join(alias.get("hostnames") or [])
        if alias.get("ip") and names:
            lines.append(f"{alias['ip']}\t{names}")
    if extra:
        lines.append("# Cluster names (the cluster DNS is not reachable on port 53).")
        lines += [f"{ip}\t" + "\t".join(names) for ip, names in extra]
    return "\n".join(lines) + "\n"


def replace_if_changed(path: Path, text: str) -> bool:
    """Replace atomically (no reader sees half a file); skip when unchanged, because a
    running sandbox's bind mount keeps pointing at the inode it started with.
    True when the file was written."""
    try:
        if path.read_text() == text:
            return False
    except FileNotFoundError:
        pass
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}.{threading.get_ident()}")
    tmp.write_text(text)
    tmp.chmod(0o644)
    os.replace(tmp, path)
    return True


def pod_network_files(
    settings: Settings, pod: Obj, *, dns_address: str, hosts: str | None = None
) -> dict[str, Path]:
    """Sandbox path -> host file for the pod's network identity; writes the files
    (`hosts`: the hosts file's text when the caller made it)."""
    # Inside the pod's own directory: the node removes directories of pods that
    # no longer exist by their uid, and these files belong to this pod only.
    netdir = pod_dir(settings, pod) / "net"
    netdir.mkdir(parents=True, exist_ok=True)
    files = {
        "/etc/resolv.conf": (
            netdir / "resolv.conf",
            resolv_conf(namespace_of(pod), settings.cluster_domain, dns_address),
        ),
        "/etc/hosts": (netdir / "hosts", hosts or hosts_file(pod, settings.cluster_domain)),
    }
    for path, text in files.values():
        replace_if_changed(path, text)
    return {target: path for target, (path, _) in files.items()}


def bound_files(files: dict[str, Path]) -> list[Mount]:
    """Each file bound read-only at its sandbox path (the files never change)."""
    return [Mount(str(path), target, read_only=True) for target, path in files.items()]


SANDBOX_NET_DIR = "/run/petset/net"


def linked_files(files: dict[str, Path]) -> list[Mount]:
    """The files' directory bound read-only, each sandbox path a symlink into it: a
    file the node replaces by rename is what the pod reads next."""
    dirs = {path.parent for path in files.values()}
    assert len(dirs) == 1, "the network files live in one directory"
    out = [Mount(str(dirs.pop()), SANDBOX_NET_DIR, read_only=True)]
    for target, path in files.items():
        out.append(Mount(f"{SANDBOX_NET_DIR}/{path.name}", target, symlink=True))
    return out
