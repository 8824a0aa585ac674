"""Starting `invdn serve`: load the weights once, bind the socket, run uvicorn."""

from __future__ import annotations

import ipaddress
import socket
import sys
from pathlib import Path

from invdn.app.config import ServeConfig
from invdn.errors import InvdnError, OptionError

LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    """True for 'localhost' and loopback addresses (127.0.0.0/8, ::1)."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on `host`:`port` (port 0: any free one); InvdnError when taken."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as err:
        raise OptionError("host", host, f"cannot be resolved ({err.strerror}); use an "
                          "address such as 127.0.0.1") from err
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as err:
        sock.close()
        raise OptionError(None, None, f"cannot listen on {host}:{port} ({err.strerror}); "
                                      "pick another {opt:port} or {opt:host}") from err
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def allowed_hosts(host: str) -> tuple[str, ...]:
    """`Host` header names a loopback server accepts: the usual loopback names plus the address
    it was asked to bind (127.0.0.2 is loopback too, and its own URL must work)."""
    own = f"[{host.strip('[]')}]" if ":" in host else host
    return tuple(dict.fromkeys(("127.0.0.1", "localhost", "[::1]", own)))


def guarded_protocol(header_timeout_s: float) -> type:
    """uvicorn's h11 protocol, closing connections that send no complete request line and
    headers within `header_timeout_s` (uvicorn times out only idle keep-alive connections, so
    a client that opens sockets and sends nothing, or half a header, held them forever)."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11Protocol(H11Protocol):
        _header_timer = None

        def connection_made(self, transport) -> None:  # noqa: ANN001 - asyncio's signature
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            before = self.cycle
            super().data_received(data)
            if self.cycle is not before:  # a request's headers are complete
                self._disarm()
            elif self._awaiting_headers():  # part of a request line or headers
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _awaiting_headers(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _arm(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(header_timeout_s, self._expire)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _expire(self) -> None:
            self._header_timer = None
            if self._awaiting_headers() and not self.transport.is_closing():
                try:
                    self.conn.send(h11.ConnectionClosed())
                except h11.LocalProtocolError:
                    pass  # half a request was received: just close
                self.transport.close()

    return GuardedH11Protocol


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def serve(checkpoints: list[str | Path], host: str = "127.0.0.1", port: int = 8000,
          device: str = "auto", config: ServeConfig | None = None, log_level: str = "info"
          ) -> None:
    """Load the default weights and `checkpoints` once onto `device`, then serve the page and
    the API on `host`:`port` until interrupted. A warning goes to stderr when `host` is not a
    loopback address (anyone who can reach it can use the server).

    Ctrl-C (SIGINT) cancels the running and queued jobs at once, gives requests in progress
    `config.shutdown_grace_s` seconds, then cancels them, removes every staged upload and
    raises KeyboardInterrupt (the CLI exits 130); a second Ctrl-C skips the grace period."""
    try:
        import uvicorn

        from invdn.app.api import create_app
    except ImportError as err:
        raise InvdnError(f"invdn serve needs the app extra ({err.name} is missing): "
                         "pip install 'invdn[app]'") from err
    from invdn.app.models import ModelRegistry
    from invdn.inference.device import resolve_device

    config = config or ServeConfig()
    loopback = is_loopback(host)
    if loopback and config.allowed_hosts is None:
        config = ServeConfig(**{**config.__dict__, "allowed_hosts": allowed_hosts(host)})
    torch_device = resolve_device(device)
    sock = bind(host, port)  # a taken port fails before seconds of loading weights
    try:
        if not loopback:
            print(f"invdn serve: warning: listening on {host}, not only on this machine: anyone "
                  "who can reach it can upload images and use this computer's CPU/GPU",
                  file=sys.stderr, flush=True)
        models = ModelRegistry.load(checkpoints, torch_device)
        names = ", ".join(f"{m.name} ({m.parameters:,} parameters)" for m in models)
        print(f"invdn serve: {url_of(sock)} on {models.device}; weights: {names}; "
              f"API docs at {url_of(sock)}docs", flush=True)
        app = create_app(models, config)

        class Server(uvicorn.Server):
            async def shutdown(self, sockets=None) -> None:  # noqa: ANN001 - uvicorn's
                # Stop the work first: a running job would otherwise keep its request, and
                # so the graceful shutdown, waiting until it finished.
                app.state.worker.cancel_all()
                app.state.closing.set()  # uploads still arriving end now, answered 503
                await super().shutdown(sockets)

        server = Server(uvicorn.Config(
            app, log_level=log_level, http=guarded_protocol(config.header_timeout_s),
            timeout_graceful_shutdown=config.shutdown_grace_s))
        try:
            server.run(sockets=[sock])
        finally:
            app.state.shutdown()  # again, for a forced exit that skipped the lifespan's end
        if server.should_exit:
            # Stopped by a signal that uvicorn handled without re-raising it afterwards (seen
            # under heavy load): report it as the interrupt it was.
            raise KeyboardInterrupt
    finally:
        sock.close()
