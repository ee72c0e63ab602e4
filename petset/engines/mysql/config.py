"""my.cnf for one member: petset's replication settings, then the user's parameters.

Pure: the init container calls `render_mycnf` with what it learned from its
environment (ordinal, pod IP, DNS name) and writes the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Members have server_id = SERVER_ID_BASE + ordinal: unique within a cluster and never 0.
SERVER_ID_BASE = 100

# Parameters petset owns: a user value for them would break replication or failover.
# The same set as petset.api.petset_kinds.MYSQL_RESERVED_PARAMETERS (a unit test
# keeps them equal), spelled out so that the config init container starts without
# importing the api's pydantic models.
RESERVED = frozenset(
    {
        "server_id", "bind_address", "port", "datadir", "socket", "log_bin",
        "log_slave_updates", "gtid_strict_mode", "report_host", "read_only",
        "rpl_semi_sync_master_enabled", "rpl_semi_sync_slave_enabled",
        "rpl_semi_sync_master_wait_point", "init_rpl_role", "pid_file", "relay_log_recovery",
        "sync_binlog", "innodb_flush_log_at_trx_commit",
    }
)  # fmt: skip

# Defaults chosen for local members; users override any of them in spec.config.
DEFAULTS: Mapping[str, str] = {
    "innodb_log_file_size": "32M",
    "innodb_buffer_pool_size": "128M",
    "max_connections": "200",
    "skip_name_resolve": "ON",
    "binlog_format": "ROW",
}


@dataclass(frozen=True)
class MemberConfig:
    ordinal: int
    bind_address: str
    report_host: str
    datadir: str
    socket: str
    port: int = 3306
    semi_sync: bool = True
    semi_sync_timeout_ms: int = 3000
    run_as_root: bool = False


def server_id(ordinal: int) -> int:
    return SERVER_ID_BASE + ordinal


def _value(v: object) -> str:
    if isinstance(v, bool):
        return "ON" if v else "OFF"
    return str(v)


def render_mycnf(member: MemberConfig, params: Mapping[str, object]) -> str:
    """The [mariadbd] section. Every member starts read-only and as a replica in
    role: only the controller makes a member writable, so a restarted former
    primary can never come back as a second writer (and MariaDB truncates its
    un-replicated binlog tail on the way, see NOTES.md)."""
    lines = [
        "# written by petset's config init container; edit spec.config instead",
        "[mariadbd]",
        f"server_id = {server_id(member.ordinal)}",
        f"bind_address = {member.bind_address}",
        f"port = {member.port}",
        f"datadir = {member.datadir}",
        f"socket = {member.socket}",
        f"pid_file = {member.socket.rsplit('/', 1)[0]}/mariadbd.pid",
        f"report_host = {member.report_host}",
        "log_bin = mysql-bin",
        "log_slave_updates = ON",
        "gtid_strict_mode = ON",
        "read_only = ON",
        "init_rpl_role = SLAVE",
        # A semi-sync acknowledgement means "in a replica's relay log"; recovering
        # the relay log on restart would throw away exactly the acknowledged
        # transactions a failover after a crash of every member depends on.
        "relay_log_recovery = OFF",
        # Every member starts with init_rpl_role=SLAVE, whose crash recovery rolls
        # back transactions that are only prepared in InnoDB instead of committing
        # them from the binlog. With the default (1) MariaDB leaves the commit step
        # unsynced and relies on binlog recovery, so after a kill -9 of every member
        # an acknowledged write could be truncated everywhere (found by the chaos
        # suite's kill-all round). 3 makes the commit itself durable before the
        # client is answered (AFTER_SYNC: binlog synced, replica acked, commit synced).
        "sync_binlog = 1",
        "innodb_flush_log_at_trx_commit = 3",
        f"rpl_semi_sync_master_enabled = {_value(member.semi_sync)}",
        f"rpl_semi_sync_slave_enabled = {_value(member.semi_sync)}",
        "rpl_semi_sync_master_wait_point = AFTER_SYNC",
        f"rpl_semi_sync_master_timeout = {member.semi_sync_timeout_ms}",
    ]
    if member.run_as_root:
        lines.append("user = root")
    merged = {**DEFAULTS, **{k.replace("-", "_"): v for k, v in params.items()}}
    for key in sorted(merged):
        if key in RESERVED:
            continue
        lines.append(f"{key} = {_value(merged[key])}")
    return "\n".join(lines) + "\n"


def reserved_problems(params: Mapping[str, object]) -> list[str]:
    """spec.config keys petset manages itself, as 'spec.config.<key>: reason' lines."""
    return [
        f"spec.config.{k}: managed by petset (replication and failover depend on it); remove it"
        for k in sorted(params)
        if k.replace("-", "_") in RESERVED
    ]
