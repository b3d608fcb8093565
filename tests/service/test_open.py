"""Opening a registry: what it asks the database before the first operation."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mlpipex.client import Client
from mlpipex.location import PlainSettings, resolve
from mlpipex.service.open import open_registry
from mlpipex.service.registry import versions
from tests.conftest import Backend, statements_sent


@pytest.mark.direct
def test_a_read_only_open_given_its_objects_asks_nothing(
    backend: Backend, client: Client, make_version: Callable[..., int]
) -> None:
    """`show` with MLPIPEX_OBJECTS set: the lookup is the only statement (one round trip on
    PostgreSQL); any other open reads the objects URL the database records."""
    client.set_alias("fraud", "champion", make_version())
    engine = client.registry.store.engine  # shared by every open of this URL in the process
    loc, settings = resolve(backend.uri), PlainSettings(backend.uri, backend.objects)

    with statements_sent(engine) as sent:
        reg = open_registry(loc, settings, create=False, read_only=True)
        assert versions.get_version(reg, "fraud@champion").version == 1
    assert len([s for s in sent if not s.startswith("BEGIN")]) == 1, sent
    assert str(reg.objects.root) == backend.objects
    reg.close()

    with statements_sent(engine) as sent:
        open_registry(loc, settings, create=False).close()
    assert len([s for s in sent if not s.startswith("BEGIN")]) == 1, sent  # the objects URL
