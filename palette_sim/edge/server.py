"""One listening port for every simulated edge host, each told apart by the address it was reached at.

Every edge host's record lists a 127.x.y.z address; the client connects to that address and the
server reads it back with `getsockname()` on the accepted connection. Two ways to listen there
without ever listening beyond loopback (measured on Linux 6.x, see README "The simulator"):

* `device`: one socket bound to 0.0.0.0 *and* to the `lo` device (SO_BINDTODEVICE), so only
  packets that arrive over loopback reach it; a connection whose local address is not in
  127.0.0.0/8 (a local process dialling the machine's own LAN address) is closed at once. Linux
  allows SO_BINDTODEVICE without privileges since 5.7.
* `per-address`: one socket per host address (any user may bind any 127/8 address on Linux),
  capped by the open-file limit; hosts past the cap are unreachable, and hosts added by churn
  later get no socket.
"""

import argparse
import io
import ipaddress
import resource
import selectors
import socket
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import TYPE_CHECKING

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from palette_sim.edge.app import EdgeApp
from palette_sim.edge.tls import TlsIssuer

if TYPE_CHECKING:
    from palette_sim.palette.app import SimApp

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
SPARE_FDS = 256
IDLE_SECONDS = 30.0  # a kept-alive connection with no next request is closed after this
MAX_KEPT_BODY = 1 << 20  # a larger request body is not read ahead: its connection closes after the answer


class EdgeHandler(WSGIRequestHandler):
    """HTTP/1.1 with keep-alive, as a real edge host's server answers: a client's requests of one
    reading (login, then the reads) share one connection and one TLS handshake.

    Werkzeug's own `run_wsgi` closes every connection: after each answer it reads and discards
    whatever the client sent meanwhile, which on a kept-alive connection is the next request. The
    edge app's answers are small and whole, so this handler reads each request body before the app
    runs and sends the answer with its length, and the connection stays open for the next request.
    """

    disable_nagle_algorithm = True  # see palette_sim.palette.server
    timeout = IDLE_SECONDS
    keep_alive = False  # decided per request in make_environ

    def make_environ(self) -> dict:
        environ = super().make_environ()
        environ["palette_sim.local_addr"] = self.connection.getsockname()[0]
        self.keep_alive = self.request_version == "HTTP/1.1" and not self.close_connection
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if environ.get("wsgi.input_terminated") or not 0 <= length <= MAX_KEPT_BODY:
            self.keep_alive = False  # a chunked, huge or unreadable body: the app reads it, then close
        elif length:
            environ["wsgi.input"] = io.BytesIO(self.rfile.read(length))
        return environ

    def run_wsgi(self) -> None:
        environ = self.make_environ()
        started: list = []
        body: list[bytes] = []

        def start_response(status: str, headers: list, exc_info: object = None) -> Callable:
            started[:] = [status, headers]
            return body.append

        try:
            answer = self.server.app(environ, start_response)
            try:
                body.extend(answer)
            finally:
                if hasattr(answer, "close"):
                    answer.close()
        except Exception as exc:  # what Werkzeug would do: a 500, and the connection closed
            self.log_error("error on request: %r", exc)
            started[:], body[:] = ["500 INTERNAL SERVER ERROR", []], []
            self.keep_alive = False
        self.send_whole(*started, b"".join(body))

    def send_whole(self, status: str, headers: list, payload: bytes) -> None:
        code, _, reason = status.partition(" ")
        self.send_response(int(code), reason)
        for key, value in headers:
            if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        if not self.keep_alive:
            self.send_header("Connection", "close")  # and http.server closes it after this answer
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        self.wfile.flush()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if not self.server.quiet:
            super().log_request(code, size)

    def log_error(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        if not self.server.quiet:
            super().log_error(format, *args)


class EdgeServer(ThreadedWSGIServer):
    """A threaded Werkzeug server over one or many listening sockets, TLS chosen per host address."""

    daemon_threads = True

    def __init__(self, app: EdgeApp, port: int, mode: str, tls: TlsIssuer | None, quiet: bool = True) -> None:
        self.mode = mode
        self.tls = tls
        self.quiet = quiet
        self.edge = app
        self.extra: list[socket.socket] = []
        self._stop = threading.Event()
        # 0.0.0.0 only together with SO_BINDTODEVICE "lo" (server_bind): nothing off-box can reach it.
        address = "0.0.0.0" if mode == "device" else "127.0.0.1"  # noqa: S104
        super().__init__(address, port, app, handler=EdgeHandler)
        self.ssl_context = tls.context("127.0.0.1") if tls else None  # https in the environ; per-host below

    def server_bind(self) -> None:
        if self.mode == "device":
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
        super().server_bind()

    def listen_on(self, addresses: list[str]) -> int:
        """per-address mode: one more listening socket per address, as many as the fd limit allows."""
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        room = max(0, soft - SPARE_FDS - len(self.extra))
        for address in addresses[:room]:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((address, self.server_address[1]))
            s.listen(64)
            self.extra.append(s)
        return min(room, len(addresses))

    def accept_from(self, listener: socket.socket) -> None:
        try:
            conn, client = listener.accept()
        except OSError:
            return
        local = conn.getsockname()[0]
        host = self.edge.sim.fleet.hosts_by_ip.get(local)
        if ipaddress.ip_address(local) not in LOOPBACK or host is None or host.reach == "down":
            conn.close()  # unreachable: the client sees its connection reset
            return
        if self.tls is not None:
            conn = self.tls.context(local).wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        self.process_request(conn, client)

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        with selectors.DefaultSelector() as selector:
            for listener in [self.socket, *self.extra]:
                selector.register(listener, selectors.EVENT_READ)
            while not self._stop.is_set():
                for key, _ in selector.select(poll_interval):
                    self.accept_from(key.fileobj)

    def shutdown(self) -> None:
        self._stop.set()

    def server_close(self) -> None:
        self._stop.set()
        super().server_close()
        for s in self.extra:
            s.close()


def can_bind_device() -> bool:
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
        return True
    except (OSError, AttributeError):
        return False
    finally:
        probe.close()


def make_edge_server(
    sim: "SimApp",
    port: int = 5080,
    mode: str = "auto",
    tls: bool = True,
    self_signed: bool = False,
    user: str = "kairos",
    password: str | None = None,
    quiet: bool = True,
    slow_seconds: float = 2.0,
) -> tuple[EdgeServer, str]:
    """Build (not start) the edge server; returns it and a line saying how it listens."""
    if mode == "auto":
        mode = "device" if can_bind_device() else "per-address"
    issuer = TlsIssuer(self_signed=self_signed) if tls else None
    app = EdgeApp(sim, user=user, password=password, slow_seconds=slow_seconds)
    sim.edge_apps.append(app)  # so /__sim/tokens/revoke reaches edge sessions too
    with sim.fleet.lock:
        addresses = sorted(sim.fleet.hosts_by_ip, key=lambda a: ipaddress.ip_address(a))
    server = EdgeServer(app, port, mode, issuer, quiet)
    scheme = "https" if tls else "http"
    if mode == "per-address":
        bound = server.listen_on(addresses)
        note = f"{bound} of {len(addresses)} host addresses bound one socket each"
        if bound < len(addresses):
            note += f" (open-file limit; hosts past {addresses[bound - 1] if bound else 'none'} are unreachable)"
    else:
        note = "one socket bound to the lo device answers every 127.0.0.0/8 address"
    sim.edge_info = {
        "port": server.server_address[1],
        "scheme": scheme,
        "mode": mode,
        "caFile": issuer.ca_path if issuer else "",
        "user": user,
        "hosts": len(addresses),
    }
    return server, f"palette_sim edge: {scheme}://<hostAddress>:{server.server_address[1]} ({mode}: {note})"


def start_edge(sim: "SimApp", args: argparse.Namespace) -> SimpleNamespace | None:
    """The CLI's edge server, or None (with a warning) when its port cannot be had."""
    try:
        server, message = make_edge_server(
            sim,
            port=args.edge_port,
            mode=args.edge_bind,
            tls=not args.edge_http,
            user=args.edge_user,
            password=args.edge_password,
            quiet=args.quiet,
            slow_seconds=args.edge_slow_seconds,
            self_signed=args.edge_self_signed,
        )
    except (OSError, SystemExit) as exc:  # Werkzeug exits on a port in use; the Palette API still runs
        print(f"palette_sim edge: not started on port {args.edge_port} ({exc}); use --edge-port", flush=True)
        return None
    if server.tls and server.tls.self_signed:
        message += "; every host's certificate is self-signed"
    elif args.edge_ca_out and server.tls:
        server.tls.write_ca(args.edge_ca_out)
        message += f"; CA certificate in {args.edge_ca_out}"
    elif server.tls:
        message += f"; CA certificate in {server.tls.ca_path}"
    return SimpleNamespace(server=server, message=message)
