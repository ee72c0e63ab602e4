"""The network files a pod sees: /etc/resolv.conf and /etc/hosts, as a kubelet writes them.

The sandbox binds the returned host files over the pod's /etc; they live under
the pod's own directory so they go away with it. resolv.conf cannot name a
port, so in-pod lookups reach the cluster DNS only when it listens on port 53.
"""

from __future__ import annotations

import os
from pathlib import Path

from petset.api.meta import Obj, name_of, namespace_of
from petset.api.settings import Settings
from petset.node.paths import pod_dir


def resolv_conf(namespace: str, cluster_domain: str, nameserver: str) -> str:
    """Kubernetes' ClusterFirst resolv.conf: the pod's namespace first, ndots:5."""
    search = f"{namespace}.svc.{cluster_domain} svc.{cluster_domain} {cluster_domain}"
    return f"nameserver {nameserver}\nsearch {search}\noptions ndots:5\n"


def hosts_file(pod: Obj, cluster_domain: str) -> str:
    """The kubelet's managed hosts file: localhost plus the pod's own IP and names."""
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
    return "\n".join(lines) + "\n"


def _write_if_changed(path: Path, text: str) -> None:
    """Replace atomically (no reader sees half a file); skip when unchanged, because a
    running sandbox's bind mount keeps pointing at the inode it started with."""
    if path.exists() and path.read_text() == text:
        return
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.chmod(0o644)
    os.replace(tmp, path)


def pod_network_files(settings: Settings, pod: Obj, *, dns_address: str) -> dict[str, Path]:
    """Sandbox path -> host file for the pod's network identity; writes the files."""
    # Inside the pod's own directory: the node removes directories of pods that
    # no longer exist by their uid, and these files belong to this pod only.
    netdir = pod_dir(settings, pod) / "net"
    netdir.mkdir(parents=True, exist_ok=True)
    files = {
        "/etc/resolv.conf": (
            netdir / "resolv.conf",
            resolv_conf(namespace_of(pod), settings.cluster_domain, dns_address),
        ),
        "/etc/hosts": (netdir / "hosts", hosts_file(pod, settings.cluster_domain)),
    }
    for path, text in files.values():
        _write_if_changed(path, text)
    return {target: path for target, (path, _) in files.items()}
