"""A member's data volume fills up: a small loop-mounted ext4 under its PV directory.

The local provisioner gives every claim a directory `<home>/volumes/<pv>`; a
sandbox binds that directory when its container starts, and the host's mounts
are private (they do not reach a running sandbox). So the filesystem is put in
place while the member is stopped: the cluster is scaled in to two members
(`mysql-2`'s claim is retained), its data is copied into an ext4 image of its
size plus `HEADROOM`, the image is loop-mounted over the PV directory, and the
cluster is scaled out again; mysql-2 starts on the small filesystem with its
own data.

A round fills the filesystem to the last block with a file, holds it full
for `HOLD` seconds under the writer while recording what petset says (member
health, phase, Events, the server's own disk-full messages), then deletes the
file; time to heal is measured from that moment. The primary round first
switches the primary over to mysql-2.

Needs root and working loop devices; otherwise the rounds are skipped with
the reason. `close()` unmounts what it mounted.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.chaos.cluster import (
    CLUSTER,
    RoundFailed,
    events_since,
    patch_cluster,
    roles,
    utcnow,
)
from bench.ha import HA
from bench.harness import wait_for
from bench.mysqlkit import all_healthy, cluster_status

MEMBER = "mysql-2"  # the highest ordinal: the one a scale-in stops
HEADROOM = 64 << 20
HOLD = 25.0
FILL_NAME = "chaos-disk-fill"


class Skip(Exception):
    """The rounds cannot run here (not root, no loop devices); the reason says why."""


def _run(*argv: str) -> str:
    res = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {res.stderr.strip() or res.stdout.strip()}")
    return res.stdout


def _du(path: Path) -> int:
    return int(_run("du", "-sb", str(path)).split()[0])


def _make_fs(image: Path, size: int) -> None:
    with open(image, "wb") as f:
        f.truncate(size)
    _run("mkfs.ext4", "-q", "-F", "-m", "0", str(image))


def probe(base: Path) -> None:
    """Skip unless a loop-mounted ext4 works here."""
    if os.geteuid() != 0:
        raise Skip("not root: mounting a small filesystem under a volume needs root")
    for tool in ("mkfs.ext4", "mount", "umount", "losetup"):
        if shutil.which(tool) is None:
            raise Skip(f"{tool} is not installed")
    image, mnt = base / "probe.img", base / "probe.mnt"
    mnt.mkdir(exist_ok=True)
    try:
        _make_fs(image, 8 << 20)
        _run("mount", "-o", "loop", str(image), str(mnt))
        _run("umount", str(mnt))
    except RuntimeError as err:
        raise Skip(f"loop mount does not work here: {err}") from err
    finally:
        image.unlink(missing_ok=True)
        mnt.rmdir()


def fill(directory: Path) -> int:
    """Write one file until the filesystem has no block left; its size in bytes."""
    written = 0
    path = directory / FILL_NAME
    with open(path, "ab", buffering=0) as f:
        for chunk in (4 << 20, 64 << 10, 4 << 10, 512):
            block = bytes(chunk)
            while True:
                try:
                    written += f.write(block)
                except OSError as err:
                    if err.errno != errno.ENOSPC:
                        raise
                    break
        with contextlib.suppress(OSError):
            os.fsync(f.fileno())
    return written


@dataclass
class DiskRig:
    """mysql-2's data volume on a small loop-mounted filesystem, set up on first use."""

    ha: HA
    pv_dir: Path | None = None
    image: Path | None = None
    skipped: str | None = None
    log: list[str] = field(default_factory=list)

    def ensure(self) -> Path:
        if self.skipped:
            raise Skip(self.skipped)
        if self.pv_dir is not None:
            return self.pv_dir
        try:
            probe(self.ha.base)
        except Skip as err:
            self.skipped = str(err)
            raise
        claim = self.ha.d.get("PersistentVolumeClaim", f"data-{MEMBER}")
        pv_dir = self.ha.d.home / "volumes" / str(claim["spec"]["volumeName"])
        try:
            self._scale(2)
            self._mount_copy(pv_dir)
        except RuntimeError as err:
            self.skipped = f"mounting failed: {err}"
        finally:
            self._scale(3)
        if self.skipped:
            raise Skip(self.skipped)
        return pv_dir

    def _scale(self, replicas: int) -> None:
        patch_cluster(self.ha, {"spec": {"replicas": replicas}})
        if replicas < 3:
            wait_for(
                f"{MEMBER} stopped",
                lambda: _pod_gone(self.ha) and all_healthy(self.ha.d, CLUSTER, replicas),
                180,
                0.5,
            )
        else:
            self.ha.wait_healthy(240)

    def _mount_copy(self, pv_dir: Path) -> None:
        used = _du(pv_dir)
        self.image = self.ha.base / "disk-full.img"
        _make_fs(self.image, used + HEADROOM)
        stage = self.ha.base / "disk-full.stage"
        stage.mkdir(exist_ok=True)
        _run("mount", "-o", "loop", str(self.image), str(stage))
        try:
            _run("cp", "-a", f"{pv_dir}/.", f"{stage}/")
            st = pv_dir.stat()
            os.chown(stage, st.st_uid, st.st_gid)
            os.chmod(stage, st.st_mode & 0o7777)
        finally:
            _run("umount", str(stage))
            stage.rmdir()
        _run("mount", "-o", "loop", str(self.image), str(pv_dir))
        self.pv_dir = pv_dir
        self.log.append(f"{MEMBER}'s volume {pv_dir.name}: ext4 of {(used + HEADROOM) >> 20} MiB")

    def close(self) -> None:
        """Unmount the volume's filesystem (a running sandbox keeps its own view)."""
        if self.pv_dir is None:
            return
        try:
            _run("umount", str(self.pv_dir))
        except RuntimeError:
            _run("umount", "-l", str(self.pv_dir))
        self.pv_dir = None


def _pod_gone(ha: HA) -> bool:
    try:
        ha.d.get("Pod", MEMBER)
    except Exception:
        return True
    return False


def _log_sizes(ha: HA, container: str) -> dict[Path, int]:
    """Where MEMBER's `container` logs end now (what a round reads from)."""
    logs = ha.d.home.glob(f"pods/default_{MEMBER}_*/logs/{container}/*.log")
    return {log: log.stat().st_size for log in logs}


def _log_lines(
    ha: HA, container: str, start: dict[Path, int], keep: Callable[[str], bool]
) -> list[str]:
    """MEMBER's `container` log lines written after `start` that `keep` selects (a few)."""
    out: list[str] = []
    for log in sorted(ha.d.home.glob(f"pods/default_{MEMBER}_*/logs/{container}/*.log")):
        with open(log, "rb") as f:
            f.seek(start.get(log, 0))
            lines = f.read().decode(errors="replace").splitlines()
        out += [ln.strip()[:200] for ln in lines if keep(ln)]
    return [*out[:2], "...", *out[-2:]] if len(out) > 4 else out


def _disk_lines(line: str) -> bool:
    low = line.lower()
    return "disk full" in low or "no space" in low or "errcode: 28" in low


def _restarts(ha: HA) -> dict[str, int]:
    """MEMBER's containers' restartCount."""
    with contextlib.suppress(Exception):
        pod = ha.d.get("Pod", MEMBER)
        return {
            str(c["name"]): int(c.get("restartCount") or 0)
            for c in (pod.get("status") or {}).get("containerStatuses") or []
        }
    return {}


def _observe(ha: HA, seconds: float) -> list[str]:
    """Distinct views petset gives of the cluster while the disk is full."""
    seen: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            st = cluster_status(ha.d)
            members: list[dict[str, Any]] = st.get("members") or []
            member = next((m for m in members if m.get("name") == MEMBER), {})
            extra = {
                k: member[k]
                for k in ("error", "state", "unreachableSince")
                if member.get(k) is not None
            }
            view = (
                f"phase {st.get('phase')}, primary {st.get('primary')}, {MEMBER} "
                f"{member.get('role')} healthy={member.get('healthy')} {extra or ''}".rstrip()
            )
            if not seen or seen[-1] != view:
                seen.append(view)
        time.sleep(1)
    return seen


def disk_full(rig: DiskRig, *, primary: bool) -> Callable[[HA], tuple[str, float]]:
    def fault(ha: HA) -> tuple[str, float]:
        pv_dir = rig.ensure()
        if primary and ha.primary() != MEMBER:
            ha.d.petset("mysql", "switchover", CLUSTER, "--to", MEMBER, timeout=120)
            ha.wait_healthy(120)
        elif not primary and ha.primary() == MEMBER:
            ha.d.petset("mysql", "switchover", CLUSTER, timeout=120)
            ha.wait_healthy(120)
        role = roles(ha).get(MEMBER, "?")
        wall, restarts = utcnow(), _restarts(ha)
        server_log, agent_log = _log_sizes(ha, "mariadbd"), _log_sizes(ha, "agent")
        size = fill(pv_dir)
        left = shutil.disk_usage(pv_dir).free
        views = _observe(ha, HOLD)
        (pv_dir / FILL_NAME).unlink()
        freed = time.monotonic()
        did = (
            f"filled {MEMBER}'s volume ({role}) with {size >> 20} MiB, {left} bytes left, "
            f"held {HOLD:.0f} s; petset showed: {' -> '.join(views)}"
        )
        events = [e for e in events_since(ha, wall) if not e.startswith("Pod/")]
        did += f"; events: {events[-6:] or 'none'}"
        did += f"; mariadbd: {_log_lines(ha, 'mariadbd', server_log, _disk_lines) or 'nothing'}"
        after = _restarts(ha)
        grew = {c: after[c] - restarts.get(c, 0) for c in after if after[c] > restarts.get(c, 0)}
        if grew:
            did += f"; container restarts while full: {grew}"
            agent = _log_lines(ha, "agent", agent_log, lambda ln: bool(ln.strip()))
            did += f"; agent log: {agent[-3:]}"
        try:
            ha.wait_healthy(240)
        except TimeoutError as err:
            raise RoundFailed(did, f"not healed after the space was freed: {err}") from err
        return did, freed

    return fault


def faults(rig: DiskRig) -> dict[str, Callable[[HA], tuple[str, float]]]:
    return {
        "disk-full-replica": disk_full(rig, primary=False),
        "disk-full-primary": disk_full(rig, primary=True),
    }
