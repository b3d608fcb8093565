"""A no-op MLflow server for bench/mlflow_compat.py: every route the benchmark's client calls
answered at once with a fixed, valid body, so a call through it costs what the mlflow client
and HTTP cost, and nothing a server does.

    python bench/_noop_mlflow.py PORT
"""

from __future__ import annotations

import json
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RUN_ID = "0" * 32
RUN = {"info": {"run_id": RUN_ID, "run_uuid": RUN_ID, "experiment_id": "1", "status": "RUNNING"}}
VERSION = {"name": "bench-model", "version": "1", "status": "READY", "current_stage": "None"}
# by the end of the path; anything else answers {}
ANSWERS: dict[str, object] = {
    "/health": "OK",
    "/experiments/create": {"experiment_id": "1"},
    "/runs/create": {"run": RUN},
    "/runs/get": {"run": RUN},
    "/runs/search": {"runs": []},
    "/registered-models/create": {"registered_model": {"name": "bench-model"}},
    "/model-versions/create": {"model_version": VERSION},
    "/model-versions/get": {"model_version": VERSION},
    "/registered-models/alias": {"model_version": VERSION},
    "/model-versions/search": {"model_versions": []},
    "/mlflow-artifacts/artifacts": {"files": []},
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes: without this, Nagle and delayed ACKs add 40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _answer(self) -> None:
        n = int(self.headers.get("content-length") or 0)
        if n:
            self.rfile.read(n)
        path = self.path.split("?", 1)[0]
        body = next((v for k, v in ANSWERS.items() if path.endswith(k)), {})
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
