"""Shared fixtures: a registry on real SQLite and real PostgreSQL, factories, the CLI in-process."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa

from mlpipex.client import Client
from mlpipex.monitor import request_index
from mlpipex.store import schema

PG_SERVER = os.environ.get("MLPIPEX_TEST_POSTGRES_URL")
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(
            PG_SERVER is None, reason="MLPIPEX_TEST_POSTGRES_URL is not set (.ci/run sets it)"
        ),
    ),
    "server",
]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "direct: reaches into the registry's database or objects, so not run through a server",
    )


# Fixtures that start a process (a control plane, an agent, model servers): a test using one,
# or running through the server backend, is slow. Tests that start one themselves say so.
PROCESS_FIXTURES = frozenset({"server", "make_server", "start_agent", "servers"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked direct are not run through the server (they reach into the database);
    tests that start a process are marked slow."""
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        through_server = callspec is not None and callspec.params.get("backend") == "server"
        if through_server or PROCESS_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
        (drop if through_server and item.get_closest_marker("direct") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _pg(url: str) -> str:
    return "postgresql+psycopg://" + url.split("://", 1)[1]


@contextlib.contextmanager
def postgres_database(
    name: str, server: str | None = PG_SERVER, *, keep: bool = False
) -> Iterator[str]:
    """A new, empty database of that name on server (the test server unless another is given),
    dropped first if it is there and afterwards unless keep; its URL (server's, the database
    swapped). The tests' databases and the benchmarks' (bench/) are made here."""
    assert server is not None
    admin = sa.create_engine(_pg(server), isolation_level="AUTOCOMMIT")
    drop = sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    with admin.connect() as conn:
        conn.execute(drop)
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    try:
        yield f"{server.rpartition('/')[0]}/{name}"
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(drop)
        admin.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A database of this test session's own on the server, so parallel sessions never collide."""
    with postgres_database(f"mlpipex_test_{os.getpid()}") as url:
        yield url


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in (
        "MLPIPEX_URI",
        "MLPIPEX_OBJECTS",
        "MLPIPEX_USER",
        "MLPIPEX_POLICY",
        "MLPIPEX_TOKEN",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / ".gitconfig-none"))


def _reset_postgres(url: str) -> None:
    _reset(_pg(url))


def _reset(db: str) -> None:
    """Empty every table (the schema stays), on PostgreSQL or SQLite."""
    engine = sa.create_engine(db)
    with engine.begin() as conn:
        existing = set(sa.inspect(conn).get_table_names())
        present = [t.name for t in schema.metadata.sorted_tables if t.name in existing]
        if present and engine.dialect.name == "postgresql":
            conn.execute(sa.text(f"TRUNCATE {', '.join(present)} RESTART IDENTITY CASCADE"))
        else:
            for name in reversed(present):
                conn.execute(sa.text(f"DELETE FROM {name}"))
        if "workspaces" in existing:  # the migration's row, which every registry has
            conn.execute(
                sa.text(
                    "INSERT INTO workspaces (name, description, created_at)"
                    " VALUES ('default', '', 0)"
                )
            )
    engine.dispose()
    request_index.forget(db)  # PostgreSQL restarts the ids the mirrors caught up to


@contextlib.contextmanager
def statements_sent(engine: sa.Engine) -> Iterator[list[str]]:
    """The statements engine sends meanwhile (an executemany is one)."""
    statements: list[str] = []

    def keep(_c: object, _cur: object, statement: str, *_a: object) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", keep)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", keep)


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """check()'s first truthy answer, polled until timeout (then the test fails naming what)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def mlpipex_cli(*args: str) -> list[str]:
    """The command line of `mlpipex ARGS...` in a process of its own, under this interpreter."""
    return [sys.executable, "-m", "mlpipex.cli", *args]


def register_args(model: Path, data: Path, metric: str = "auc=0.9") -> list[str]:
    """`register fraud MODEL` with what the default policy asks: a commit, a dataset, a metric."""
    return [
        "register",
        "fraud",
        str(model),
        "--commit",
        "a" * 40,
        "--dataset",
        f"train={data}",
        "--metric",
        metric,
    ]


def start_server(
    uri: str, objects: str, *extra: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """`mlpipex server` as a real process on a free loopback port, once /health answers."""
    import httpx

    port = free_port()
    proc = subprocess.Popen(
        mlpipex_cli("--uri", uri, "server", "--port", str(port), "--objects", objects, *extra),
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"server exited: {err}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not answer /health within 60 s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    if proc.stderr:
        proc.stderr.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """One control plane for the session, on PostgreSQL when there is one, else SQLite:
    (its URL, the database URL for resets, its objects folder). Its PostgreSQL database is
    its own, not pg_url's: its background loops (rollouts claim what is under way, skipping
    rows locked) would otherwise race the in-process tests that drive the same rows."""
    root = tmp_path_factory.mktemp("server")
    with contextlib.ExitStack() as stack:
        if PG_SERVER is not None:
            uri = stack.enter_context(postgres_database(f"mlpipex_server_{os.getpid()}"))
            db = _pg(uri)
        else:
            uri = str(root / ".mlpipex")
            db = f"sqlite:///{root / '.mlpipex' / 'registry.db'}"
        proc, url = start_server(uri, str(root / "objects"), "--enable-workspaces")
        stack.callback(stop_server, proc)
        yield url, db, str(root / "objects")


@dataclass
class Backend:
    """One registry under test: its URI (what users pass as --uri) and its objects URL."""

    kind: str
    uri: str
    objects: str

    def client(self, user: str = "alice") -> Client:
        return Client(self.uri, objects=self.objects, user=user)

    def env(self, user: str = "alice") -> dict[str, str]:
        return {"MLPIPEX_URI": self.uri, "MLPIPEX_OBJECTS": self.objects, "MLPIPEX_USER": user}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    objects = str(tmp_path / "objects")
    if request.param == "server":
        url, db, server_objects = request.getfixturevalue("server")
        _reset(db)
        yield Backend("server", url, server_objects)
        return
    if request.param == "sqlite":
        yield Backend("sqlite", str(tmp_path / "reg" / ".mlpipex"), objects)
        return
    url = request.getfixturevalue("pg_url")
    _reset_postgres(url)
    yield Backend("postgresql", url, objects)
    _reset_postgres(url)


@pytest.fixture
def client(backend: Backend) -> Iterator[Client]:
    c = backend.client()
    yield c
    c.close()


@pytest.fixture
def make_file(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(1_000_000))

    def make(name: str | None = None, size: int = 4096, content: bytes | None = None) -> Path:
        p = tmp_path / "files" / (name or f"file{next(counter)}.bin")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content if content is not None else os.urandom(size))
        return p

    return make


@pytest.fixture
def make_version(client: Client, make_file: Callable[..., Path]) -> Callable[..., int]:
    """Register a complete version (commit, dataset, metric) and return its number."""

    def make(name: str = "fraud", auc: float = 0.9, **kw: object) -> int:
        kw.setdefault("commit", "a" * 40)
        kw.setdefault("datasets", {"train": str(make_file("train.csv", content=b"x,y\n1,0\n"))})
        metrics = kw.pop("metrics", {"auc": auc})
        v = client.register(name, make_file(), metrics=metrics, **kw)  # type: ignore[arg-type]
        return v.version

    return make


@pytest.fixture
def git_repo(tmp_path: Path) -> Callable[[Path], str]:
    """Make dir a git repository with one commit; returns the commit sha."""

    def make(d: Path) -> str:
        d.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@e",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@e",
        }
        (d / "README").write_text("x\n")
        for args in (["init", "-q"], ["add", "README"], ["commit", "-q", "-m", "init"]):
            subprocess.run(["git", *args], cwd=d, check=True, env=env, capture_output=True)
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=d, check=True, capture_output=True, text=True
        ).stdout.strip()

    return make


@pytest.fixture
def fluent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, git_repo: Callable[[Path], str]
) -> Iterator[Callable[[dict[str, str]], str]]:
    """Point the fluent API (``mlpipex.start_run`` ...) at a registry as a training script run
    from a git checkout sees it: call with the environment naming the registry; returns the
    checkout's commit. Afterwards its runs are ended and its clients closed."""
    import mlpipex
    from mlpipex import tracking

    def point(env: dict[str, str]) -> str:
        sha = git_repo(tmp_path / "work")
        monkeypatch.chdir(tmp_path / "work")
        monkeypatch.setattr(sys, "argv", ["train.py"])
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        return sha

    yield point
    while mlpipex.active_run():
        mlpipex.end_run()
    for c in tracking._clients.values():
        c.close()
    tracking._clients.clear()


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., CliResult]:
    """Run ``mlpipex ARGS`` in-process, with env set, and capture what it printed."""
    from mlpipex.cli.main import main

    def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> CliResult:
        with monkeypatch.context() as m:
            for k, v in (env or {}).items():
                m.setenv(k, v)
            if cwd is not None:
                m.chdir(cwd)
            capsys.readouterr()
            code = main(list(args))
            captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def script(name: str) -> ModuleType:
    """scripts/NAME.py loaded as a module: the generators, whose output tests compare."""
    path = Path(__file__).resolve().parent.parent / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
