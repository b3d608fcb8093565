from __future__ import annotations

from collections.abc import Callable

import pytest

from mlpipex.client import Client
from mlpipex.errors import Invalid, NotFound


def test_alias_moves_and_resolves(client: Client, make_version: Callable[..., int]) -> None:
    make_version()
    make_version()
    assert client.set_alias("fraud", "champion", 1) is None
    assert client.get_version("fraud@champion").version == 1
    assert client.set_alias("fraud", "champion", 2) == 1
    v = client.get_version("models:/fraud@champion")
    assert (v.version, v.aliases) == (2, ("champion",))
    assert client.get_model("fraud").aliases == {"champion": 2}
    client.delete_alias("fraud", "champion")
    with pytest.raises(NotFound, match="no alias 'champion'"):
        client.get_version("fraud@champion")
    moves = [
        (e.kind, e.version, e.payload.get("previous"))
        for e in client.events(model="fraud")
        if e.kind.startswith("alias")
    ]
    assert moves == [("alias_set", 1, None), ("alias_set", 2, 1), ("alias_deleted", 2, None)]


def test_reserved_aliases_and_missing_versions_are_refused(
    client: Client, make_version: Callable[..., int]
) -> None:
    make_version()
    for alias in ("latest", "v3"):
        with pytest.raises(Invalid, match="reserved"):
            client.set_alias("fraud", alias, 1)
    with pytest.raises(NotFound):
        client.set_alias("fraud", "champion", 9)
    with pytest.raises(NotFound):
        client.delete_alias("fraud", "champion")


def test_latest_and_stage_references(client: Client, make_version: Callable[..., int]) -> None:
    make_version()
    make_version()
    assert client.get_version("models:/fraud/latest").version == 2
    with pytest.raises(NotFound, match="no version in Production"):
        client.get_version("fraud:production")


def test_tags_on_models_and_versions(client: Client, make_version: Callable[..., int]) -> None:
    make_version()
    client.set_model_tag("fraud", "team", "risk")
    client.set_version_tag("fraud", 1, "validated", "yes")
    assert client.get_model("fraud").tags == {"team": "risk"}
    assert client.get_version("fraud/1").tags == {"validated": "yes"}
    client.delete_version_tag("fraud", 1, "validated")
    assert client.get_version("fraud/1").tags == {}
    with pytest.raises(NotFound):
        client.delete_model_tag("fraud", "nope")
