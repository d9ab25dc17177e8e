from __future__ import annotations

from collections.abc import Iterator

import pytest
from leadflow.testing.processes import Cluster, running_cluster


@pytest.fixture(scope="module")
def api(module_cluster_env: dict[str, str]) -> Iterator[Cluster]:
    """Gateway and leads as processes, shared by a module's tests (each uses its own data)."""
    with running_cluster(module_cluster_env, services=("gateway", "leads")) as cluster:
        yield cluster
