from __future__ import annotations

from collections.abc import Iterator

import pytest
from leadflow.testing.processes import Cluster, running_cluster


@pytest.fixture(scope="module")
def api(module_cluster_env: dict[str, str]) -> Iterator[Cluster]:
    """Gateway and leads as processes, shared by a module's tests (each uses its own data)."""
    env = {**module_cluster_env, "LOGIN_RATE_LIMIT_PER_MINUTE": "6000"}
    with running_cluster(env, services=("gateway", "leads")) as cluster:
        yield cluster
