"""Controllers of petset's engines (they run on both backends)."""

from __future__ import annotations

import sys

from petset.engines.mysql.controller import controller as mysql_controller
from petset.engines.mysql.render import RenderContext
from petset.runtime.controller import Controller


def local_render_context(cluster_domain: str) -> RenderContext:
    """Locally the member commands run with the daemon's own interpreter (the
    sandbox sees the host's files read-only)."""
    return RenderContext(
        member_command=(sys.executable, "-m", "petset.engines.mysql.member"),
        cluster_domain=cluster_domain,
    )


def engine_controllers(ctx: RenderContext) -> list[Controller]:
    return [mysql_controller(ctx)]
