"""What a member's init-data does with an empty data directory, and what the
member commands may import (they start once per container)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from petset.api.petset_kinds import MYSQL_RESERVED_PARAMETERS
from petset.engines.mysql import config
from petset.engines.mysql.member import init_plan


def plan(**kw: object) -> str:
    args = {"ordinal": 1, "initialized": False, "donor": False, "restore": False}
    args |= {"set_aside": False} | kw
    return init_plan(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize("ordinal", [0, 1, 2])
def test_a_new_cluster_bootstraps_every_member_at_once(ordinal: int) -> None:
    assert plan(ordinal=ordinal) == "bootstrap"


def test_a_new_cluster_bootstraps_even_beside_a_donor() -> None:
    # the first primary's binlog holds everything: no clone, no peer lookup needed
    assert plan(donor=True) == "bootstrap"


def test_a_healthy_donor_is_cloned_once_the_cluster_exists() -> None:
    assert plan(donor=True, initialized=True) == "clone"
    assert plan(donor=True, restore=True) == "clone"
    assert plan(donor=True, set_aside=True) == "clone"


def test_an_initialized_cluster_never_starts_a_member_empty() -> None:
    for ordinal in (0, 3):
        assert plan(ordinal=ordinal, initialized=True) == "wait"


def test_a_restore_is_ordinal_0s_and_the_others_clone_from_it() -> None:
    assert plan(ordinal=0, restore=True) == "restore"
    assert plan(ordinal=1, restore=True) == "wait"


def test_data_set_aside_waits_for_a_clone() -> None:
    assert plan(set_aside=True) == "wait"


def test_the_config_reserved_set_is_the_apis() -> None:
    assert config.RESERVED == MYSQL_RESERVED_PARAMETERS


def test_member_commands_start_without_pydantic() -> None:
    code = "import sys, petset.engines.mysql.member; print('pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
