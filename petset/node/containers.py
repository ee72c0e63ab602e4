"""One container of a pod: its record on disk, its current sandbox, its probes.

The record (`containers/<name>.json` in the pod directory) is what lets a new
daemon pick up where the old one stopped: the running instance (bwrap pid and
start time), restartCount, the crash-loop counter, the last termination.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from petset.api.meta import Obj
from petset.node import decisions, logs, sandbox
from petset.node.decisions import ProbeKind, ProbeState
from petset.node.mounts import Mount
from petset.node.sandbox import Instance, SandboxSpec


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_json(path: Path, data: Any) -> None:
    """Atomic replace; mode 0600 because records hold the container's environment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


@dataclass
class Record:
    """What survives a daemon restart."""

    restart_count: int = -1  # -1: never started
    consecutive: int = 0  # crash-loop counter for the backoff
    instance: dict[str, Any] | None = None
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    terminated: dict[str, Any] | None = None  # current state when it will not run again
    last_state: dict[str, Any] | None = None  # the previous instance's termination
    next_start_at: float = 0.0  # wall clock; CrashLoopBackOff until then
    backoff_seconds: float = 0.0
    # Probe results of the running instance, so an adopted pod does not flap to not-ready.
    probe_success: dict[str, bool] = field(default_factory=dict)


@dataclass
class Probe:
    kind: ProbeKind
    spec: Obj
    state: ProbeState
    next_at: float  # monotonic


class Container:
    def __init__(self, pod_dir: Path, spec: Obj, *, init: bool) -> None:
        self.spec = spec
        self.name = str(spec["name"])
        self.init = init
        self.pod_dir = pod_dir
        self.record_path = pod_dir / "containers" / f"{self.name}.json"
        self.log_dir = pod_dir / "logs" / self.name
        self.record = self._load()
        self.popen: subprocess.Popen[bytes] | None = None
        self.waiting_reason = "PodInitializing"
        self.waiting_message = ""
        self.probes: dict[ProbeKind, Probe] = {}
        self.log_seen = 0  # bytes of the current log already in its timestamp index
        self._reset_probes()

    # -- record ------------------------------------------------------------------
    def _load(self) -> Record:
        try:
            return Record(**json.loads(self.record_path.read_text()))
        except FileNotFoundError:
            return Record()

    def save(self) -> None:
        write_json(self.record_path, self.record.__dict__)

    @property
    def instance(self) -> Instance | None:
        return Instance.from_json(self.record.instance) if self.record.instance else None

    @property
    def succeeded(self) -> bool:
        term = self.record.terminated
        return term is not None and term.get("exitCode") == 0 and not self.running

    @property
    def running(self) -> bool:
        inst = self.instance
        return inst is not None and sandbox.is_alive(inst)

    def log_path(self, *, previous: bool = False) -> Path:
        n = self.record.restart_count - (1 if previous else 0)
        return logs.instance_log(self.log_dir, n)

    # -- lifecycle -----------------------------------------------------------------
    def start(self, spec: SandboxSpec) -> None:
        """Start the next instance (restartCount counts the instances after the first)."""
        self.record.restart_count += 1
        self.record.env = dict(spec.env)
        self.record.workdir = spec.workdir
        logs.prune(self.log_dir, self.record.restart_count)
        self.log_seen = 0
        inst, self.popen = sandbox.launch(spec)
        self.record.instance = inst.to_json()
        self.record.terminated = None
        self.record.probe_success = {}
        self._reset_probes()
        self.save()

    def sandbox_spec(
        self,
        *,
        hostname: str,
        argv: list[str],
        env: dict[str, str],
        mounts: list[Mount],
        run_as: tuple[int, int] | None,
    ) -> SandboxSpec:
        n = self.record.restart_count + 1
        return SandboxSpec(
            hostname=hostname,
            argv=argv,
            env=env,
            mounts=mounts,
            log_path=logs.instance_log(self.log_dir, n),
            status_path=self.pod_dir / "status" / f"{self.name}-{n}.json",
            workdir=str(self.spec.get("workingDir") or "/"),
            run_as=run_as,
        )

    def start_failed(self, message: str) -> None:
        """bwrap could not set the sandbox up: Kubernetes' StartError (exit code 128)."""
        now = iso(time.time())
        self.record.instance = None
        self.record.terminated = {
            "exitCode": 128,
            "reason": "StartError",
            "message": message,
            "startedAt": now,
            "finishedAt": now,
        }
        self.save()

    def poll_exit(self) -> tuple[dict[str, Any], float] | None:
        """(terminated state, seconds it ran) if the current instance has just exited."""
        inst = self.instance
        if inst is None:
            return None
        if self.popen is not None and self.popen.poll() is None:
            return None
        if self.popen is None and sandbox.is_alive(inst):
            return None
        self.popen = None
        code = sandbox.exit_code(inst)
        try:  # bwrap wrote the exit code when the app died: the file's mtime is that moment
            finished = Path(inst.status_path).stat().st_mtime
        except OSError:
            finished = time.time()
        term = {
            "exitCode": code,
            "reason": decisions.termination_reason(code),
            "startedAt": iso(inst.started_at),
            "finishedAt": iso(finished),
        }
        self.record.instance = None
        self.record.terminated = term
        self.save()
        return term, finished - inst.started_at

    def schedule_restart(self, ran_seconds: float, *, base: float, maximum: float) -> float:
        """Move the termination to lastState and set the backoff; returns the delay."""
        if ran_seconds >= decisions.BACKOFF_RESET_SECONDS:
            self.record.consecutive = 0
        delay = decisions.restart_delay(self.record.consecutive, base=base, maximum=maximum)
        self.record.consecutive += 1
        self.record.last_state = self.record.terminated
        self.record.terminated = None
        self.record.next_start_at = time.time() + delay
        self.record.backoff_seconds = delay
        self.save()
        return delay

    def stop(self, grace: float) -> None:
        """SIGTERM the app, wait up to `grace`, then SIGKILL the whole sandbox."""
        inst = self.instance
        if inst is None:
            return
        sandbox.signal_app(inst)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and not self._exited(inst):
            time.sleep(0.05)
        if not self._exited(inst):
            sandbox.kill_sandbox(inst)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not self._exited(inst):
                time.sleep(0.02)

    def _exited(self, inst: Instance) -> bool:
        if self.popen is not None:
            return self.popen.poll() is not None
        return not sandbox.is_alive(inst)

    # -- probes ----------------------------------------------------------------------
    def _reset_probes(self) -> None:
        self.probes = {}
        now = time.monotonic()
        kinds: tuple[ProbeKind, ...] = ("startup", "readiness", "liveness")
        for kind in kinds:
            spec = self.spec.get(f"{kind}Probe")
            if not spec or self.init:
                continue
            state = decisions.initial_probe_state(kind)
            if kind in self.record.probe_success:  # adopted: keep what we knew
                state = ProbeState(success=self.record.probe_success[kind])
            delay = decisions.probe_timing(spec)[0]
            self.probes[kind] = Probe(kind, spec, state, now + delay)

    def record_probe(self, probe: Probe, state: ProbeState) -> bool:
        """Store a probe result; True when the probe's result flipped."""
        flipped = state.success != probe.state.success
        probe.state = state
        if flipped:
            self.record.probe_success[probe.kind] = state.success
            self.save()
        return flipped

    @property
    def started(self) -> bool:
        probe = self.probes.get("startup")
        return self.running and (probe is None or probe.state.success)

    @property
    def ready(self) -> bool:
        probe = self.probes.get("readiness")
        return self.started and (probe is None or probe.state.success)
