"""A test double of the control plane's side of the agent protocol, on real HTTP: it serves a
desired state the test sets, objects from a real ObjectStore folder, and records the reports
(and prediction-log rows) it accepts. The agent's tests control it fully; one test also runs
against the real server. It can be stopped and started again on the same port, refuse reports,
or serve wrong bytes for a digest."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from mlpipex.objects.local import LocalStore
from mlpipex.objects.manifest import store_tree


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ControlPlane:
    def __init__(self, objects: Path, token: str | None = None) -> None:
        self.store = LocalStore(str(objects))
        self.token = token
        self.port = _free_port()
        self.generation = 0
        self.endpoints: list[dict[str, Any]] = []
        self.reports: list[dict[str, Any]] = []  # accepted, in order
        self.refused_reports = 0
        self.refuse_reports = False
        self.corrupt: set[str] = set()  # digests answered with other bytes
        self.pulls: list[str] = []  # the agent= parameter of each pull
        self.prediction_rows = 0  # rows of the prediction log the agent posted
        self.authorizations: set[str | None] = set()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- what the test controls ---------------------------------------------------------------
    def files(self, package: Path) -> list[dict[str, Any]]:
        """Store a package's files and return them as the desired state lists them."""
        manifest = store_tree(self.store, package)
        return [{"path": f.path, "digest": f.digest, "size": f.size} for f in manifest.files]

    def set(self, endpoints: list[dict[str, Any]]) -> int:
        with self._lock:
            self.generation += 1
            self.endpoints = endpoints
            return self.generation

    def desired(self) -> dict[str, Any]:
        with self._lock:
            return {"generation": self.generation, "endpoints": self.endpoints}

    def accepted(self, endpoint: str, version: str) -> dict[str, Any]:
        """The sums of the accepted reports' counters of one version."""
        with self._lock:
            reports = list(self.reports)
        total: dict[str, Any] = {"requests": 0, "errors": 0, "client_errors": 0, "buckets": 0}
        for r in reports:
            counts = r["endpoints"].get(endpoint, {}).get("versions", {}).get(version)
            if counts is not None:
                for key in ("requests", "errors", "client_errors"):
                    total[key] += counts[key]
                total["buckets"] += sum(counts["latency_ms_buckets"])
        return total

    def last_report(self) -> dict[str, Any] | None:
        with self._lock:
            return self.reports[-1] if self.reports else None

    # -- process --------------------------------------------------------------------------------
    def start(self) -> None:
        plane = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if not self._authorized():
                    return
                url = urlparse(self.path)
                if url.path == "/api/v1/agent/desired":
                    plane.pulls.append(parse_qs(url.query).get("agent", [""])[0])
                    self._json(200, plane.desired())
                elif url.path.startswith("/api/v1/objects/"):
                    digest = url.path.rsplit("/", 1)[1]
                    if not plane.store.exists(digest):
                        self._json(404, {"error": {"code": "NOT_FOUND", "message": "no object"}})
                        return
                    data = plane.store.read_bytes(digest)
                    if digest in plane.corrupt:
                        data = b"not the bytes you asked for" + data
                    self._send(200, data, "application/octet-stream")
                else:
                    self._json(404, {"error": {"code": "NOT_FOUND", "message": url.path}})

            def do_POST(self) -> None:
                if not self._authorized():
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path == "/api/v1/agent/predictions":
                    with plane._lock:
                        plane.prediction_rows += len(body.get("rows", []))
                    self._json(200, {})
                    return
                if self.path != "/api/v1/agent/report":
                    self._json(404, {"error": {"code": "NOT_FOUND", "message": self.path}})
                    return
                with plane._lock:
                    if plane.refuse_reports:
                        plane.refused_reports += 1
                        refused = True
                    else:
                        plane.reports.append(body)
                        refused = False
                if refused:
                    self._json(503, {"error": {"code": "UNAVAILABLE", "message": "refused"}})
                else:
                    self._json(200, {"generation": plane.generation})

            def _authorized(self) -> bool:
                given = self.headers.get("Authorization")
                plane.authorizations.add(given)
                if plane.token is None or given == f"Bearer {plane.token}":
                    return True
                self._json(401, {"error": {"code": "UNAUTHENTICATED", "message": "bad token"}})
                return False

            def _json(self, status: int, doc: Any) -> None:
                self._send(status, json.dumps(doc).encode(), "application/json")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
