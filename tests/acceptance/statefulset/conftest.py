"""One daemon per test module (`shared_petset_env`), started once, and its API client.

Set STS_TEST_LOGS=DIR to keep each module's daemon log (DIR/<module>.log) for a look
after a failure: the daemon and its home are gone once the module ends.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.conftest import PetsetEnv
from tests.acceptance.statefulset.stsfixtures import Api


@pytest.fixture(scope="module")
def api(shared_petset_env: PetsetEnv, request: pytest.FixtureRequest) -> Iterator[Api]:
    shared_petset_env.ok("daemon", "start")
    a = Api(shared_petset_env)
    yield a
    a.close()
    keep = os.environ.get("STS_TEST_LOGS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        log = shared_petset_env.home / "daemon.log"
        shutil.copy(log, Path(keep) / f"{request.module.__name__.rsplit('.', 1)[-1]}.log")


@pytest.fixture(scope="module")
def env(shared_petset_env: PetsetEnv) -> PetsetEnv:
    return shared_petset_env
