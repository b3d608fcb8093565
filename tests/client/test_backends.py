"""One Client over two backends: both implement the whole protocol with the same parameters, and
what only an embedded registry can do is refused through a server, not run as local code."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from mlpipex.client import Client
from mlpipex.client.backend import Backend
from mlpipex.client.local import LocalBackend
from mlpipex.client.remote import RemoteBackend
from mlpipex.errors import Invalid, NotFound


def _methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(fn)
        for name, fn in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


@pytest.mark.parametrize("impl", [LocalBackend, RemoteBackend])
def test_backend_implements_every_method_with_the_protocols_parameters(impl: type) -> None:
    wanted = _methods(Backend)
    assert len(wanted) >= 70  # the whole surface, not an empty protocol
    found = _methods(impl)
    assert sorted(set(wanted) - set(found)) == []
    for name, sig in wanted.items():
        assert list(found[name].parameters) == list(sig.parameters), name


def test_client_picks_its_backend_by_uri(tmp_path: Path, server: tuple[str, str, str]) -> None:
    local = Client(str(tmp_path / ".mlpipex"), user="alice")
    remote = Client(server[0], user="alice")
    try:
        assert isinstance(local._backend, LocalBackend)
        assert isinstance(remote._backend, RemoteBackend)
        assert local.registry.actor.name == "alice"
        assert remote.list_models().items is not None  # a real answer from the server
    finally:
        local.close()
        remote.close()


def test_what_needs_the_registry_itself_is_refused_through_a_server(
    tmp_path: Path, server: tuple[str, str, str]
) -> None:
    c = Client(server[0], user="alice")
    try:
        with pytest.raises(Invalid, match="not a server URL"):
            c.registry  # noqa: B018
        with pytest.raises(Invalid, match="does not run through a server"):
            c.import_gto(tmp_path)
        with pytest.raises(NotFound, match="upgrades its own schema"):
            c.upgrade_schema()
        with pytest.raises(NotFound, match="send deliveries themselves"):
            c.deliver_webhooks()
    finally:
        c.close()
