"""Pickled versions: served only when the host's operator allows it (loading runs code)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlpipex.agent.desired import EndpointSpec, VersionSpec
from mlpipex.agent.loader import VersionLoader
from mlpipex.client.http import Http
from mlpipex.errors import Invalid


def test_a_pickled_version_is_refused_unless_the_agent_allows_pickle(tmp_path: Path) -> None:
    http = Http("http://127.0.0.1:9", token=None, user=None, timeout=1)
    spec = VersionSpec(7, 100, (), True)
    endpoint = EndpointSpec("ep", "m", None, (spec,), None)
    with pytest.raises(Invalid, match="--allow-pickle"):
        VersionLoader(http, tmp_path).load(endpoint, spec)
    assert not (tmp_path / "models").exists()  # refused before anything was fetched
    http.close()
