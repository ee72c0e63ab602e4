"""The chaos suite's CI subset: kill -9 of the primary under a recorded writer.

A real daemon and a real 3-member MariaDB cluster; a writer goes through the
rw Service and records every operation (ok / failed / unknown); a monitor
polls every member's read_only. After the kill: a new primary, writes
acknowledged again, no acknowledged write missing from the table, never two
writable members. On failure the pods' logs, the daemon's log, events and
the topology are kept under the test's tmp_path. The full suite:
`scripts/bench.sh chaos`.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from bench.chaos.faults import kill_primary
from bench.chaos.history import check
from bench.ha import ha_cluster, wait_for_ids
from bench.harness import wait_for

pytestmark = [pytest.mark.acceptance, pytest.mark.timeout(240)]


def test_kill_primary_under_writes_loses_no_acknowledged_write(tmp_path: Path) -> None:
    if shutil.which("mariadbd") is None or shutil.which("bwrap") is None:
        pytest.skip("needs mariadbd and bubblewrap")
    with ha_cluster("ci-chaos") as ha:
        monitor = ha.monitor()
        writer = ha.writer(1)
        try:
            wait_for("20 acknowledged writes", lambda: len(writer.ops) >= 20, 30)
            old = ha.primary()
            assert old is not None
            fault_at = time.monotonic()
            kill_primary(ha)
            ha.wait_new_primary(old, 60)
            wait_for(
                "a write acknowledged after the kill",
                lambda: any(o.outcome == "ok" and o.end > fault_at + 0.1 for o in writer.ops),
                30,
            )
            time.sleep(0.5)
        except BaseException:
            ha.keep(tmp_path, "failed")
            raise
        finally:
            writer.stop()
            split = monitor.stop()
        verdict = check(writer.ops, wait_for_ids(ha.rw))
        if verdict.lost or split:
            ha.keep(tmp_path, "failed")
        assert verdict.lost == [], f"acknowledged writes lost: {verdict.summary()}"
        assert verdict.failed_but_present == [], "a write recorded as failed is in the table"
        assert split == [], f"two writable members at once: {split[:3]}"
        assert ha.primary() != old
