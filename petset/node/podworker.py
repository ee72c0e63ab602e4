"""One thread per pod: init containers in order, then containers, restarts with
CrashLoopBackOff, probes, hooks, status; graceful termination on deletion.

A full pass (`sync`) observes the containers, decides with decisions.py and
acts; between full passes, light ones (`tick`) run only the probes that are due
and index the logs, and write the status only when a probe result flipped. The
thread sleeps on an Event until the next thing is due; exits (pidfd, see
exitwatch.py) and pod changes set the Event and force a full pass, so nothing
polls. (A full pass reads /proc a dozen times and builds the pod status: ~2-3 ms;
run every second for nine MySQL members' 1 s readiness probes it was ~2.5 % CPU.)
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from petset.api.errors import NotFoundError
from petset.api.meta import (
    Obj,
    controller_ref,
    is_being_deleted,
    name_of,
    namespace_of,
    resource_version_of,
    uid_of,
)
from petset.api.settings import Settings
from petset.node import binding, decisions, envvars, logs, podstatus
from petset.node.containers import Container, Probe, write_json
from petset.node.execution import exec_in
from petset.node.exitwatch import ExitWatcher
from petset.node.interfaces import NetworkFiles, VolumeProvider
from petset.node.ipam import IPPool
from petset.node.mounts import Mount
from petset.node.paths import pod_dir
from petset.node.probes import run_probe
from petset.node.sandbox import SandboxError
from petset.runtime.cluster import Cluster

# Without pidfd (exitwatch.py) nothing wakes a worker when a container exits: poll.
POLL_WAIT = 0.5
# While something runs: light passes at least this often, so the log timestamp
# index (logs.py) is this fine; full passes at least every VOLUME_SYNC_SECONDS.
LOG_MARK_SECONDS = 2.0
# Passes are at least this far apart unless something wakes the worker.
MIN_WAIT = 0.05
# A pod is usually created a fraction of a second before its claims are bound
# (nothing wakes the worker when they are): retry soon, backing off to 2 s.
VOLUME_RETRY_FIRST = 0.2
VOLUME_RETRY_MAX = 2.0
TERMINAL_WAIT = 5.0
VOLUME_SYNC_SECONDS = 5.0


@dataclass
class NodeContext:
    settings: Settings
    cluster: Cluster
    logger: logging.Logger
    pool: IPPool
    volumes: VolumeProvider
    network_files: NetworkFiles | None
    exits: ExitWatcher | None = None


def pod_hostname(pod: Obj) -> str:
    """spec.hostname when set, else the pod's name (as Kubernetes)."""
    return str((pod.get("spec") or {}).get("hostname") or name_of(pod))


def pod_key(pod: Obj) -> str:
    return f"{namespace_of(pod) or 'default'}/{name_of(pod)}"


def is_older(candidate: Obj, current: Obj) -> bool:
    """True when `candidate` is an earlier version of `current` (a replayed event)."""
    a, b = resource_version_of(candidate), resource_version_of(current)
    return a.isdigit() and b.isdigit() and int(a) < int(b)


def active_probes(c: Container) -> list[Probe]:
    """The startup probe until it succeeds, then the others (as the kubelet)."""
    startup = c.probes.get("startup")
    if startup is not None and not startup.state.success:
        return [startup]
    return [p for k, p in c.probes.items() if k != "startup"]


class PodWorker:
    """The worker of ONE pod object: its uid never changes. A pod recreated under the
    same name is another worker's (its own uid, directory and sandboxes)."""

    def __init__(self, ctx: NodeContext, pod: Obj) -> None:
        self.ctx = ctx
        self.pod = pod
        self.uid = uid_of(pod)
        self.key = pod_key(pod)
        self.dir = pod_dir(ctx.settings, pod)
        spec = pod.get("spec") or {}
        self.inits = [Container(self.dir, c, init=True) for c in spec.get("initContainers") or []]
        self.mains = [Container(self.dir, c, init=False) for c in spec.get("containers") or []]
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.deleted = False
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"pod {self.key}", daemon=True)
        self._meta: dict[str, Any] = {}
        self._volumes: dict[str, Path] | None = None
        self._last_status: Obj | None = None
        self._last_volume_sync = 0.0
        self._volume_retry = VOLUME_RETRY_FIRST
        self._full_at = 0.0  # monotonic: the next full pass, unless woken earlier
        self._lock = threading.Lock()  # one pass at a time (sync vs. shutdown)

    # -- thread ----------------------------------------------------------------------
    def start(self) -> None:
        self.thread.start()

    def update(self, pod: Obj, *, deleted: bool = False) -> None:
        if uid_of(pod) != self.uid:
            return  # another pod of the same name: never this worker's business
        if not is_older(pod, self.pod):
            self.pod = pod
        self.deleted = self.deleted or deleted
        self.wake.set()

    def _run(self) -> None:
        log = self.ctx.logger
        full = True
        try:
            while not self.stopping.is_set():
                try:
                    if self.deleted or is_being_deleted(self.pod):
                        self.terminate()
                        return
                    with self._lock:
                        if self.stopping.is_set():
                            return
                        wait = self.sync() if full else self.tick()
                except Exception:
                    log.exception("pod %s: sync failed", self.key)
                    wait, self._full_at = 2.0, 0.0
                woken = self.wake.wait(wait)
                self.wake.clear()
                full = woken or time.monotonic() >= self._full_at
        finally:
            self.done.set()

    # -- one pass --------------------------------------------------------------------
    def sync(self) -> float:
        """Observe, decide, act once; returns how long to sleep before the next pass
        (a light one when only probes or the log index are due before the next full one)."""
        if self._volumes is not None and any(not p.exists() for p in self._volumes.values()):
            # A volume's directory vanished under a running pod (a stale worker of a
            # same-name predecessor once released it; workers now act on their own
            # uid only): prepare it again rather than fail every container start.
            self.ctx.logger.warning(
                "pod %s: a volume directory vanished; preparing again", self.key
            )
            self._volumes = None
        if self._volumes is None and not self._prepare():
            if self.deleted or is_being_deleted(self.pod):
                return 0.0
            wait = self._volume_retry
            self._volume_retry = min(VOLUME_RETRY_MAX, 2 * wait)
            self._full_at = 0.0
            return wait
        init_done = self._sync_inits()
        if init_done:
            for c in self.mains:
                if c.waiting_reason == "PodInitializing":
                    c.waiting_reason = "ContainerCreating"
                self._advance(c)
                if c.running:
                    self._probe(c)
        self._maintain()
        self._write_status(init_done)
        if self.ctx.exits is not None:
            for c in self.inits + self.mains:
                inst = c.instance
                if inst is not None:
                    self.ctx.exits.watch(inst.bwrap_pid, self.wake)
        return self._next_wait(init_done)

    def tick(self) -> float:
        """A light pass: the probes that are due and the log index; returns the next wait.

        Exits and pod changes force a full pass instead (the wake Event), so a
        container seen running here was running at the last full pass.
        """
        flipped = False
        for c in self.mains:  # only mains have probes, and run only once inits are done
            if c.record.instance is not None:
                flipped = self._probe(c) or flipped
        self._mark_logs()
        if flipped:
            self._write_status(init_done=True)
        mono = time.monotonic()
        return max(MIN_WAIT, min([self._full_at - mono, *self._light_due(mono)]))

    def _next_wait(self, init_done: bool) -> float:
        """Seconds until the next thing this worker must do by itself; sets when the
        next full pass is due.

        Exits and pod changes wake it earlier. Only the containers that can
        start now count: the mains once every init succeeded, else the first
        init not done (later inits' start times are not due, they are unset).
        """
        current = self.mains if init_done else [c for c in self.inits if not c.succeeded][:1]
        now, mono = time.time(), time.monotonic()
        full: list[float] = [
            c.record.next_start_at - now
            for c in current
            if c.record.instance is None and c.record.terminated is None
        ]
        running = any(c.record.instance is not None for c in self.inits + self.mains)
        if running:
            if self.ctx.exits is None:
                full.append(POLL_WAIT)  # nothing else tells us of an exit
            full.append(self._last_volume_sync + VOLUME_SYNC_SECONDS - mono)
        if not full:
            self._full_at = mono + TERMINAL_WAIT
            return TERMINAL_WAIT
        # The floor: what is due is done by the next pass, never spun on.
        full_wait = max(MIN_WAIT, min(full))
        self._full_at = mono + full_wait
        return max(MIN_WAIT, min([full_wait, *self._light_due(mono)]))

    def _light_due(self, mono: float) -> list[float]:
        """Seconds until each probe of a running main, and the next log index mark."""
        due: list[float] = []
        for c in self.inits + self.mains:
            if c.record.instance is not None:
                due.append(LOG_MARK_SECONDS)
                due += [p.next_at - mono for p in active_probes(c)]
        return due

    def _prepare(self) -> bool:
        """Bind the pod to this node (finalizer, nodeName), get its IP, volumes and files."""
        stored = binding.claim(self.ctx.cluster, self.pod, self.ctx.settings.node_name)
        if stored is None:
            # Gone already (an event that reached us late): nothing may start for it.
            self.deleted = True
            return False
        self.pod = stored
        if is_being_deleted(stored):
            return False
        self.dir.mkdir(parents=True, exist_ok=True)
        meta_path = self.dir / "pod.json"
        try:
            self._meta = json.loads(meta_path.read_text())
        except FileNotFoundError:
            self._meta = {
                "namespace": namespace_of(self.pod) or "default",
                "name": name_of(self.pod),
                "uid": self.pod["metadata"]["uid"],
                "startTime": time.time(),
                "owner": controller_ref(self.pod),
            }
        self._meta["podIP"] = self.ctx.pool.allocate(self.key, holder=self.uid)
        write_json(meta_path, self._meta)
        (self.dir / "hostname").write_text(pod_hostname(self.pod) + "\n")
        try:
            self._volumes = self.ctx.volumes.prepare(self._pod_with_ip())
        except Exception as e:  # the volume manager explains what is missing
            self._set_waiting(f"volumes not ready: {e}", reason="ContainerCreating")
            self.ctx.logger.warning("pod %s: %s", self.key, e)
            return False
        return True

    @property
    def pod_ip(self) -> str | None:
        ip = self._meta.get("podIP")
        return str(ip) if ip else None

    def _pod_with_ip(self) -> Obj:
        pod = dict(self.pod)
        status = dict(pod.get("status") or {})
        status.update(
            {
                "podIP": self.pod_ip,
                "podIPs": [{"ip": self.pod_ip}],
                "hostIP": "127.0.0.1",
                "hostIPs": [{"ip": "127.0.0.1"}],
            }
        )
        pod["status"] = status
        return pod

    def _set_waiting(self, message: str, *, reason: str) -> None:
        for c in self.inits + self.mains:
            if c.instance is None and c.record.terminated is None:
                c.waiting_reason, c.waiting_message = reason, message

    # -- containers ------------------------------------------------------------------
    def _sync_inits(self) -> bool:
        for c in self.inits:
            if c.succeeded:
                continue
            self._advance(c)
            if not c.succeeded:
                return False
        return True

    def _advance(self, c: Container) -> None:
        """Notice an exit, decide on a restart, start when due."""
        exited = c.poll_exit()
        if exited is not None:
            self._on_exit(c, *exited)
            if not c.init:  # mains run only once every init succeeded
                # Watchers (a database failing over) learn of the exit now, not
                # after the restart below has spawned a new sandbox.
                self._write_status(init_done=True)
        idle = c.instance is None and c.record.terminated is None
        if idle and time.time() >= c.record.next_start_at:
            self._start(c)

    def _on_exit(self, c: Container, term: Obj, ran: float) -> None:
        code = int(term["exitCode"])
        self.ctx.logger.info("pod %s: container %s exited with %d", self.key, c.name, code)
        policy = str((self.pod.get("spec") or {}).get("restartPolicy") or "Always")
        if decisions.should_restart(policy, code, init=c.init):
            s = self.ctx.settings
            delay = c.schedule_restart(
                ran, base=s.backoff_base_seconds, maximum=s.backoff_max_seconds
            )
            if delay > 0:
                self._event("Warning", "BackOff", f"Back-off restarting failed container {c.name}")

    def _start(self, c: Container) -> None:
        pod = self._pod_with_ip()
        try:
            env = envvars.process_env(pod, c.spec, self._lookup)
            argv = envvars.container_argv(c.spec, env)
            mounts = self._mounts(c, env)
        except (envvars.EnvError, KeyError) as e:
            c.waiting_reason, c.waiting_message = "CreateContainerConfigError", str(e)
            c.record.next_start_at = time.time() + 2.0
            return
        spec = c.sandbox_spec(
            hostname=pod_hostname(self.pod),
            argv=argv,
            env=env,
            mounts=mounts,
            run_as=self._run_as(c),
        )
        try:
            c.start(spec)
        except SandboxError as e:
            self._event("Warning", "Failed", f"Error: container {c.name}: {e}")
            c.start_failed(str(e))
            self._on_exit(c, c.record.terminated or {"exitCode": 128}, 0.0)
            return
        c.waiting_reason, c.waiting_message = "ContainerCreating", ""
        self._event("Normal", "Started", f"Started container {c.name}")
        self._post_start(c)

    def _post_start(self, c: Container) -> None:
        hook = ((c.spec.get("lifecycle") or {}).get("postStart") or {}).get("exec")
        if not hook:
            return
        result = exec_in(c, [str(a) for a in hook.get("command") or []], timeout=30.0)
        if result.exit_code != 0:
            self._event(
                "Warning",
                "FailedPostStartHook",
                f"PostStartHook failed: exit code {result.exit_code}",
            )
            c.stop(0)

    def _lookup(self, kind: str, name: str) -> Obj | None:
        try:
            return self.ctx.cluster.get(kind, name, namespace_of(self.pod))
        except NotFoundError:
            return None

    def _mounts(self, c: Container, env: dict[str, str]) -> list[Mount]:
        assert self._volumes is not None
        out: list[Mount] = []
        for vm in c.spec.get("volumeMounts") or []:
            source = self._volumes.get(str(vm["name"]))
            if source is None:
                raise envvars.EnvError(f"volumeMount {vm['name']!r}: no such volume")
            sub = vm.get("subPath") or envvars.expand(str(vm.get("subPathExpr") or ""), env)
            if sub:
                if source.is_dir() and not (source / sub).exists():
                    (source / sub).mkdir(parents=True)
                source = source / sub
            out.append(Mount(str(source), str(vm["mountPath"]), bool(vm.get("readOnly"))))
        out.append(Mount(str(self.dir / "hostname"), "/etc/hostname", True))
        if self.ctx.network_files is not None:
            out += self.ctx.network_files(self._pod_with_ip())
        return out

    def _run_as(self, c: Container) -> tuple[int, int] | None:
        pod_ctx = (self.pod.get("spec") or {}).get("securityContext") or {}
        ctx = {**pod_ctx, **(c.spec.get("securityContext") or {})}
        if ctx.get("runAsUser") is None:
            return None
        uid = int(ctx["runAsUser"])
        return uid, int(ctx.get("runAsGroup", uid))

    # -- probes ------------------------------------------------------------------------
    def _probe(self, c: Container) -> bool:
        """Run the probes that are due; True when a result flipped."""
        flipped = False
        for probe in active_probes(c):
            if time.monotonic() >= probe.next_at and c.running:
                flipped = self._probe_once(c, probe) or flipped
        return flipped

    def _probe_once(self, c: Container, probe: Probe) -> bool:
        _, period, timeout = decisions.probe_timing(probe.spec)
        ok = run_probe(
            probe.spec,
            c.spec,
            pod_ip=self.pod_ip or "127.0.0.1",
            timeout=timeout,
            exec_fn=lambda argv, t: exec_in(c, argv, timeout=t).exit_code,
        )
        probe.next_at = time.monotonic() + period
        state = decisions.probe_step(probe.state, ok, probe.spec, probe.kind)
        flipped = c.record_probe(probe, state)
        if ok:
            return flipped
        kind = probe.kind.capitalize()
        self._event("Warning", "Unhealthy", f"{kind} probe failed")
        _, failure_threshold = decisions.probe_thresholds(probe.spec, probe.kind)
        if probe.kind != "readiness" and state.failures >= failure_threshold:
            self._event(
                "Normal",
                "Killing",
                f"Container {c.name} failed {probe.kind} probe, will be restarted",
            )
            grace = probe.spec.get("terminationGracePeriodSeconds")
            c.stop(self._grace() if grace is None else float(grace))
            self.wake.set()  # a full pass notices the exit and restarts it
        return flipped

    # -- housekeeping --------------------------------------------------------------------
    def _maintain(self) -> None:
        self._mark_logs()
        if time.monotonic() - self._last_volume_sync >= VOLUME_SYNC_SECONDS:
            self._last_volume_sync = time.monotonic()
            self.ctx.volumes.sync(self._pod_with_ip())

    def _mark_logs(self) -> None:
        for c in self.inits + self.mains:
            if c.record.instance is not None:
                c.log_seen = logs.mark(c.log_path(), c.log_seen)

    def _write_status(self, init_done: bool) -> None:
        status = podstatus.pod_status(
            self.pod,
            self.inits,
            self.mains,
            init_done=init_done,
            pod_ip=self.pod_ip,
            start_time=float(self._meta.get("startTime") or time.time()),
            previous=self._last_status or self.pod.get("status"),
        )
        if status == self._last_status:
            return
        stored = binding.write_status(self.ctx.cluster, self.pod, status)
        if stored is None:
            self.deleted = True
            return
        self.pod = stored
        self._last_status = status

    def _event(self, type_: Literal["Normal", "Warning"], reason: str, message: str) -> None:
        try:
            self.ctx.cluster.record_event(
                self.pod, type=type_, reason=reason, message=message, source="kubelet"
            )
        except Exception:
            self.ctx.logger.exception("pod %s: event %s not recorded", self.key, reason)

    def _grace(self) -> float:
        md, spec = self.pod.get("metadata") or {}, self.pod.get("spec") or {}
        value = md.get("deletionGracePeriodSeconds")
        if value is None:
            value = spec.get("terminationGracePeriodSeconds")
        return float(30 if value is None else value)

    # -- termination -----------------------------------------------------------------------
    def stop_containers(self, grace: float | None = None) -> None:
        """preStop hooks, SIGTERM, then SIGKILL after the grace period; all containers at once."""
        grace = self._grace() if grace is None else grace
        deadline = time.monotonic() + grace
        threads = [
            threading.Thread(target=self._stop_one, args=(c, deadline))
            for c in self.mains + self.inits
            if c.instance is not None
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for c in self.mains + self.inits:
            exited = c.poll_exit()
            if exited is not None and not (self.deleted or is_being_deleted(self.pod)):
                # The node shuts down, not the pod: schedule the restart its restartPolicy
                # asks for, so the next daemon starts it again instead of showing it dead.
                self._on_exit(c, *exited)

    def _stop_one(self, c: Container, deadline: float) -> None:
        hook = ((c.spec.get("lifecycle") or {}).get("preStop") or {}).get("exec")
        if hook and c.running:
            exec_in(
                c,
                [str(a) for a in hook.get("command") or []],
                timeout=max(0.1, deadline - time.monotonic()),
            )
        c.stop(max(0.0, deadline - time.monotonic()))

    def terminate(self) -> None:
        """The pod is being deleted: stop it, release what it held, drop the finalizer."""
        with self._lock:
            self.stop_containers()
            if not self.deleted:
                self._write_status(init_done=all(c.succeeded for c in self.inits))
            self.ctx.volumes.release(self._pod_with_ip())
            if binding.ip_releasable(self.ctx.cluster, self.pod):
                self.ctx.pool.release(self.key, holder=self.uid)
            binding.unclaim(self.ctx.cluster, self.pod)
            shutil.rmtree(self.dir, ignore_errors=True)
            self.ctx.logger.info("pod %s: terminated", self.key)
