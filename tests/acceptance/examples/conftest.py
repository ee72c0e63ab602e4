"""One daemon per example module, started once, and its API client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.acceptance.conftest import PetsetEnv
from tests.acceptance.statefulset.stsfixtures import Api


@pytest.fixture(scope="module")
def env(shared_petset_env: PetsetEnv) -> PetsetEnv:
    return shared_petset_env


@pytest.fixture(scope="module")
def api(env: PetsetEnv) -> Iterator[Api]:
    env.ok("daemon", "start")
    a = Api(env)
    yield a
    a.close()
