"""A no-op MLflow server for bench/mlflow_compat.py: every route the benchmark's client calls
answered at once with a fixed, valid body, so a call through it costs what the mlflow client
and HTTP cost, and nothing a server does (an uploaded artifact is received and dropped).
Searches answer as many results as were asked for, each shaped as a real server's (its fields
and a tag), since the client's own cost grows with what it decodes.

    python bench/_noop_mlflow.py PORT
"""

from __future__ import annotations

import json
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

RUN_ID = "0" * 32
RUN = {
    "info": {
        "run_id": RUN_ID,
        "run_uuid": RUN_ID,
        "run_name": "run-00000000",
        "experiment_id": "1",
        "user_id": "bench",
        "status": "RUNNING",
        "start_time": 1_700_000_000_000,
        "artifact_uri": f"mlflow-artifacts:/1/{RUN_ID}/artifacts",
        "lifecycle_stage": "active",
    },
    "data": {"metrics": [], "params": [], "tags": [{"key": "mlflow.runName", "value": "run"}]},
    "inputs": {"dataset_inputs": [], "model_inputs": []},
    "outputs": {"model_outputs": []},
}
VERSION = {
    "name": "bench-model",
    "version": "1",
    "creation_timestamp": 1_700_000_000_000,
    "last_updated_timestamp": 1_700_000_000_000,
    "user_id": "bench",
    "current_stage": "None",
    "description": "",
    "source": f"runs:/{RUN_ID}/model",
    "run_id": RUN_ID,
    "status": "READY",
    "tags": [{"key": "k", "value": "1"}],
    "aliases": [],
}
# by the end of the path; anything else answers {}
ANSWERS: dict[str, object] = {
    "/health": "OK",
    "/experiments/create": {"experiment_id": "1"},
    "/runs/create": {"run": RUN},
    "/runs/get": {"run": RUN},
    "/registered-models/create": {"registered_model": {"name": "bench-model"}},
    "/model-versions/create": {"model_version": VERSION},
    "/model-versions/get": {"model_version": VERSION},
    "/registered-models/alias": {"model_version": VERSION},
    "/mlflow-artifacts/artifacts": {"files": []},
}
SEARCHES = ("/runs/search", "/model-versions/search")
BODY_KEPT = 1 << 20  # larger bodies (artifacts) are received and dropped
DISCARD = bytearray(1 << 20)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes: without this, Nagle and delayed ACKs add 40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _answer(self) -> None:
        n = int(self.headers.get("content-length") or 0)
        if n > BODY_KEPT:  # an artifact: read into one buffer and dropped, as cheaply as it gets
            view = memoryview(DISCARD)
            while n > 0:  # a read of 0 (the body cut off) ends it too
                n -= self.rfile.readinto(view[: min(n, len(view))]) or n
        raw = self.rfile.read(n) if n else b""
        path, _, query = self.path.partition("?")
        body = next((v for k, v in ANSWERS.items() if path.endswith(k)), {})
        if path.endswith(SEARCHES):
            asked = json.loads(raw).get("max_results") if raw else parse_qs(query)["max_results"][0]
            key = "runs" if path.endswith("/runs/search") else "model_versions"
            body = {key: [RUN if key == "runs" else VERSION] * int(asked or 1)}
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
