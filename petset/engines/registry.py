"""Controllers of petset's engines (they run on both backends)."""

from __future__ import annotations

import sys
from pathlib import Path

from petset.engines.mysql.backup.archive import archive_controller
from petset.engines.mysql.backup.backup import BackupRunner
from petset.engines.mysql.backup.binlogs import Archivers
from petset.engines.mysql.backup.controllers import backup_controller
from petset.engines.mysql.backup.restore_check import restore_check_controller
from petset.engines.mysql.backup.schedule import schedule_controller
from petset.engines.mysql.backup.store import LocalDirectoryStore
from petset.engines.mysql.controller import controller as mysql_controller
from petset.engines.mysql.member import AGENT_PORT
from petset.engines.mysql.render import RenderContext
from petset.runtime.controller import Controller


def local_render_context(cluster_domain: str, *, home: Path | None = None) -> RenderContext:
    """Locally the member commands run with the daemon's own interpreter (the
    sandbox sees the host's files read-only); a restore reads the backup store
    under `home` through a hostPath volume."""
    return RenderContext(
        member_command=(sys.executable, "-m", "petset.engines.mysql.member"),
        cluster_domain=cluster_domain,
        backup_store=None if home is None else str(home / "backups"),
    )


def engine_controllers(ctx: RenderContext, *, home: Path | None = None) -> list[Controller]:
    """With `home` (the daemon's state directory), also the backup controllers:
    backups under home/backups, binlog staging under home/binlog-staging."""
    controllers = [mysql_controller(ctx)]
    if home is not None:
        controllers += backup_controllers(home / "backups", home / "binlog-staging")
    return controllers


def backup_controllers(store_root: Path, staging_root: Path) -> list[Controller]:
    store_root.mkdir(parents=True, exist_ok=True)  # pods mount it (hostPath, Directory)
    store = LocalDirectoryStore(store_root)
    return [
        backup_controller(BackupRunner(store, agent_port=AGENT_PORT)),
        schedule_controller(),
        archive_controller(Archivers(store, staging_root)),
        restore_check_controller(store_root),
    ]
