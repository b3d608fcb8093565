"""Tokens from the CLI: a lifetime too short to mean anything is refused, never rounded to
"never expires"; the expiry given is the one enforced."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mlpipex.client import Client
from mlpipex.errors import Unauthorized
from mlpipex.service.access import users as access
from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def test_a_sub_minute_lifetime_is_refused_not_made_eternal(cli: Cli, tmp_path: Path) -> None:
    env = {"MLPIPEX_URI": str(tmp_path / ".mlpipex"), "MLPIPEX_USER": "root"}
    with Client(env["MLPIPEX_URI"]) as c:
        c.create_user("ann", ["viewer"])
    for short in ("500ms", "0s", "59s"):
        r = cli("tokens", "create", "--user", "ann", "--expires", short, env=env)
        assert r.code == 1 and "a token lives from 60 s" in r.err, (short, r.err)
    assert cli("tokens", "create", "--user", "ann", "--expires", "90s", env=env).code == 0
    with Client(env["MLPIPEX_URI"]) as c:
        tokens = c.list_tokens("ann")
        assert len(tokens) == 1 and tokens[0].expires_at is not None
        assert tokens[0].expires_at - tokens[0].created_at == 90_000


def test_an_expired_token_is_refused(tmp_path: Path) -> None:
    with Client(str(tmp_path / ".mlpipex")) as c:
        c.create_user("ann", ["viewer"])
        _, clear = c.create_token("ann", "ci", expires_in_s=60)
        reg = c.registry
        assert access.authenticate_token(reg, clear, reg.clock()).name == "ann"
        with pytest.raises(Unauthorized):
            access.authenticate_token(reg, clear, reg.clock() + 60_000)
