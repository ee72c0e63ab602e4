"""A real Kubernetes control plane for tests: etcd (Debian's etcd-server),
kube-apiserver and kube-controller-manager built from Debian's `kubernetes`
source package by scripts/kube-apiserver.sh.

Everything listens on 127.0.0.1 with ports picked at random; the API server
serves TLS only (`--insecure-port=0`) and trusts client certificates made here
with openssl (the admin is in system:masters). Stopped by PID, nothing else.

    python -m tests.acceptance.kube.apiserver --bin-dir DIR --dir STATE
runs one in the foreground for a person (KUBECONFIG printed; Ctrl-C stops).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "scripts" / "kube-apiserver.sh"


class Unavailable(Exception):
    """The control plane cannot be built or started here (the reason says why)."""


def find_binaries(*, build: bool) -> Path:
    """The cached bin dir; with `build`, build it first (minutes, progress on stderr)."""
    args = ["bash", str(SCRIPT), "build" if build else "bin-dir"]
    proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=None if build else subprocess.PIPE,
                          text=True, check=False)  # fmt: skip
    if proc.returncode != 0:
        raise Unavailable(f"{' '.join(args[1:])} exited {proc.returncode}; see its output")
    return Path(proc.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certs(d: Path) -> None:
    """CA, API server serving cert (127.0.0.1), admin client cert, service-account keys."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
             "ca.crt", "-days", "2", "-subj", "/CN=petset-test-ca", cwd=d)  # fmt: skip
    (d / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes\n")
    for name, subj, ext in (
        ("apiserver", "/CN=kube-apiserver", ["-extfile", "san.cnf"]),
        ("admin", "/O=system:masters/CN=petset-admin", []),
    ):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
                 f"{name}.csr", "-subj", subj, cwd=d)  # fmt: skip
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", *ext, cwd=d)  # fmt: skip
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=d)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=d)


def kubeconfig_text(d: Path, server: str) -> str:
    return f"""apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: {server}
    certificate-authority: {d / "ca.crt"}
users:
- name: admin
  user:
    client-certificate: {d / "admin.crt"}
    client-key: {d / "admin.key"}
contexts:
- name: test
  context: {{cluster: test, user: admin, namespace: default}}
current-context: test
"""


@dataclass
class ControlPlane:
    bin_dir: Path
    dir: Path
    server: str = ""
    kubeconfig: Path = Path()
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = open(self.dir / f"{name}.log", "wb")  # noqa: SIM115 - the child keeps it
        self.procs[name] = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip

    def start(self, timeout: float = 60.0) -> None:
        if not shutil.which("etcd"):
            raise Unavailable("etcd not installed (Debian package etcd-server)")
        if not shutil.which("openssl"):
            raise Unavailable("openssl not installed")
        make_certs(self.dir)
        etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
        etcd = f"http://127.0.0.1:{etcd_port}"
        self._spawn("etcd", [
            "etcd", "--name=test", f"--data-dir={self.dir / 'etcd'}",
            f"--listen-client-urls={etcd}", f"--advertise-client-urls={etcd}",
            f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
            f"--initial-cluster=test=http://127.0.0.1:{peer_port}",
            "--unsafe-no-fsync",  # test data: speed over durability
        ])  # fmt: skip
        d = self.dir
        self.server = f"https://127.0.0.1:{api_port}"
        self._spawn("kube-apiserver", [
            str(self.bin_dir / "kube-apiserver"), f"--etcd-servers={etcd}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
            f"--secure-port={api_port}", "--insecure-port=0", f"--cert-dir={d}",
            f"--tls-cert-file={d / 'apiserver.crt'}",
            f"--tls-private-key-file={d / 'apiserver.key'}",
            f"--client-ca-file={d / 'ca.crt'}", "--authorization-mode=RBAC",
            "--service-cluster-ip-range=10.0.0.0/24",  # allocation only: nothing routes there
            f"--service-account-key-file={d / 'sa.pub'}",
            f"--service-account-signing-key-file={d / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc",
            "--profiling=false", "--endpoint-reconciler-type=none",
        ])  # fmt: skip
        self.kubeconfig = d / "kubeconfig"
        self.kubeconfig.write_text(kubeconfig_text(d, self.server))
        self._wait_ready(timeout)
        self._spawn("kube-controller-manager", [
            str(self.bin_dir / "kube-controller-manager"), f"--kubeconfig={self.kubeconfig}",
            "--leader-elect=false", "--port=0", "--secure-port=0",
            f"--service-account-private-key-file={d / 'sa.key'}",
            f"--root-ca-file={d / 'ca.crt'}", "--use-service-account-credentials=false",
            "--controllers=*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-service,-route",
        ])  # fmt: skip

    def _wait_ready(self, timeout: float) -> None:
        ctx = ssl.create_default_context(cafile=str(self.dir / "ca.crt"))
        ctx.load_cert_chain(str(self.dir / "admin.crt"), str(self.dir / "admin.key"))
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    tail = (self.dir / f"{name}.log").read_text(errors="replace")[-2000:]
                    raise Unavailable(f"{name} exited {proc.returncode}:\n{tail}")
            try:
                with urllib.request.urlopen(f"{self.server}/readyz", context=ctx, timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError as err:
                last = str(err)
            time.sleep(0.2)
        raise Unavailable(f"kube-apiserver not ready after {timeout:.0f}s: {last}")

    def stop(self) -> None:
        """SIGTERM each process we started (by PID, newest first), SIGKILL stragglers."""
        for proc in reversed(list(self.procs.values())):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self.procs.clear()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--bin-dir", type=Path, required=True)
    p.add_argument("--dir", type=Path, required=True)
    args = p.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    plane = ControlPlane(args.bin_dir, args.dir.resolve())
    try:
        plane.start()
        print(f"ready: export KUBECONFIG={plane.kubeconfig}", flush=True)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        with contextlib.suppress(KeyboardInterrupt):
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
    except Unavailable as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
    finally:
        plane.stop()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
