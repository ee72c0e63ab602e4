"""A state directory keeps the network ranges it was created with."""

from __future__ import annotations

from pathlib import Path

from petset.api.settings import Settings


def test_saved_settings_win_and_differences_are_reported(tmp_path: Path) -> None:
    created = Settings(home=tmp_path, pod_cidr="127.50.0.0/24", dns_port=5353)
    later = Settings(home=tmp_path, pod_cidr="127.60.0.0/24", dns_port=5353)
    pinned, warnings = later.with_saved(created.persisted())
    assert pinned.pod_cidr == "127.50.0.0/24"
    assert len(warnings) == 1 and "pod_cidr" in warnings[0] and "new PETSET_HOME" in warnings[0]
    assert created.with_saved(created.persisted()) == (created, [])


def test_from_env_reads_petset_variables(tmp_path: Path) -> None:
    s = Settings.from_env({"PETSET_HOME": str(tmp_path), "PETSET_DNS_PORT": "5300"})
    assert s.home == tmp_path and s.dns_port == 5300 and s.socket_path == tmp_path / "petset.sock"
