"""The probe server: GET /healthz and /readyz on their own port, answered by their own threads.

The answers come from `LoopProbes` (streams/worker/probes.py), which the event loop keeps up to
date; serving them never waits for the loop. Standard library only (`http.server`): a probe is
one small JSON answer, and a second web framework on a second loop would be more to trust.

Bounds: at most `max_connections` connections are served at once (a thread each; more are
closed unanswered and counted), a connection that has not sent its request within `timeout_s`
is closed, every answer closes its connection (HTTP/1.0), and only the request line and headers
are read. No authentication, like the web port's probes: the answers carry no data.
"""

from __future__ import annotations

import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter

from streams.worker.api import SECURITY_HEADERS
from streams.worker.probes import LoopProbes

log = logging.getLogger(__name__)
HEADERS = {"Content-Type": "application/json", **SECURITY_HEADERS}  # as on the web port
PATHS = ("/healthz", "/readyz")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "roompulse-probe"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.timeout_s)  # reads and writes: a slow client

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        probes = self.server.probes
        if path == "/healthz":
            status, body = probes.liveness()
        elif path == "/readyz":
            status, body = probes.readiness()
        else:
            status, body = 404, {"error": "only /healthz and /readyz here"}
        self.server.requests.labels(path if path in PATHS else "other", str(status)).inc()
        data = orjson.dumps(body)
        self.send_response(status)
        for name, value in HEADERS.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per probe would be the whole log; roompulse_probe_requests_total counts


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stuck client never holds up the process's exit

    def __init__(self, address: tuple[str, int], probes: LoopProbes, *, max_connections: int,
                 timeout_s: float, requests: Counter, refused: Counter) -> None:
        self.probes, self.timeout_s = probes, timeout_s
        self.requests, self.refused = requests, refused
        self.slots = threading.BoundedSemaphore(max_connections)
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            self.refused.inc()
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)  # starts the thread
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


class ProbeMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter("roompulse_probe_requests", (
            "requests answered by the probe server (ROOMPULSE_API_PROBE_PORT), by path and "
            "status"), ["path", "code"], registry=registry)
        self.refused = Counter("roompulse_probe_connections_refused", (
            "probe connections closed unanswered: ROOMPULSE_API_PROBE_MAX_CONNECTIONS were "
            "being served"), registry=registry)


class ProbeServer:
    """`start()` binds and serves from a daemon thread; `stop()` closes the port and joins it."""

    def __init__(self, probes: LoopProbes, host: str, port: int, *, registry: CollectorRegistry,
                 max_connections: int = 8, timeout_s: float = 2.0) -> None:
        self.probes, self.host, self.port = probes, host, port
        self.max_connections, self.timeout_s = max_connections, timeout_s
        metrics = ProbeMetrics(registry)
        self.requests, self.refused = metrics.requests, metrics.refused
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Binds now (OSError when the port is taken) and serves from a daemon thread."""
        self._server = _Server((self.host, self.port), self.probes,
                               max_connections=self.max_connections, timeout_s=self.timeout_s,
                               requests=self.requests, refused=self.refused)
        self.port = self._server.server_address[1]  # the real one when asked for port 0
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.1,),
                                        name="probe-server", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stops accepting, closes the listening socket and joins the thread (blocking: call it
        off the event loop). Connections being answered finish on their own daemon threads."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()  # returns once serve_forever has left its loop (<= 0.1 s poll)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout_s)
