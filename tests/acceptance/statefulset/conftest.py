"""One daemon per test module (`shared_petset_env`), started once, and its API client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.acceptance.conftest import PetsetEnv
from tests.acceptance.statefulset.stsfixtures import Api


@pytest.fixture(scope="module")
def api(shared_petset_env: PetsetEnv) -> Iterator[Api]:
    shared_petset_env.ok("daemon", "start")
    a = Api(shared_petset_env)
    yield a
    a.close()


@pytest.fixture(scope="module")
def env(shared_petset_env: PetsetEnv) -> PetsetEnv:
    return shared_petset_env
