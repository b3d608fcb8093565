"""Running a ``ModelServer`` under uvicorn (uvloop, httptools): in this process, or in N forked
worker processes accepting on one shared socket, each with its own copy of the models."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from types import FrameType

import uvicorn

from mlpipex.errors import Invalid
from mlpipex.serving.app import ModelServer

# A worker that dies this soon after starting is broken, not unlucky: do not fork it again.
_MIN_LIFETIME_S = 5.0


def bind(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A listening socket; port 0 picks a free one (read it back with ``getsockname``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise Invalid(f"cannot listen on {host}:{port}: {e.strerror}") from None
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def serve(
    server: ModelServer,
    sock: socket.socket,
    *,
    workers: int = 1,
    log_level: str = "warning",
    on_ready: Callable[[], None] | None = None,
) -> bool:
    """Serve until SIGINT or SIGTERM; False if the workers kept dying. With workers > 1 this
    process only supervises: it forks the workers, replaces one that dies, and passes the signal
    on when told to stop."""
    if workers <= 1:
        if on_ready is not None:
            on_ready()
        _run(server, sock, log_level)
        return True
    children: dict[int, float] = {}
    for _ in range(workers):
        _fork(server, sock, log_level, children)
    if on_ready is not None:
        on_ready()
    return _supervise(server, sock, log_level, children)


def uvicorn_config(
    app: Callable[..., Awaitable[None]], log_level: str, graceful_shutdown_s: int | None = None
) -> uvicorn.Config:
    """How a model server or an agent runs under uvicorn: uvloop and httptools, no websockets,
    no access log (a line per prediction would cost more than the prediction), no Server or
    Date header."""
    return uvicorn.Config(
        app,
        loop="uvloop",
        http="httptools",
        ws="none",
        lifespan="on",
        access_log=False,
        log_level=log_level,
        server_header=False,
        date_header=False,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=graceful_shutdown_s,
    )


def _run(server: ModelServer, sock: socket.socket, log_level: str) -> None:
    uvicorn.Server(uvicorn_config(server, log_level)).run(sockets=[sock])


def _fork(
    server: ModelServer, sock: socket.socket, log_level: str, children: dict[int, float]
) -> None:
    pid = os.fork()
    if pid:
        children[pid] = time.monotonic()
        return
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        server.after_fork()
        _run(server, sock, log_level)
    except BaseException as e:
        print(f"mlpipex serve: worker {os.getpid()} failed: {e}", file=sys.stderr)
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _supervise(
    server: ModelServer, sock: socket.socket, log_level: str, children: dict[int, float]
) -> bool:
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        started = children.pop(pid, None)
        if started is None or stopping:
            continue
        lived = time.monotonic() - started
        print(
            f"mlpipex serve: worker {pid} exited ({_describe(status)}) after {lived:.1f}s",
            file=sys.stderr,
        )
        if lived >= _MIN_LIFETIME_S:
            _fork(server, sock, log_level, children)
    return stopping


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"
