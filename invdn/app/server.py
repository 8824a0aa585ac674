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
        raise InvdnError(f"cannot listen on {host}:{port} ({err.strerror}); "
                         "pick another --port or --host") from err
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def serve(checkpoints: list[str | Path], host: str = "127.0.0.1", port: int = 8000,
          device: str = "auto", config: ServeConfig | None = None, log_level: str = "info"
          ) -> None:
    """Load the default weights and `checkpoints` once onto `device`, then serve the page and
    the API on `host`:`port` until interrupted. A warning goes to stderr when `host` is not a
    loopback address (anyone who can reach it can use the server)."""
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
        config = ServeConfig(**{**config.__dict__,
                                "allowed_hosts": ("127.0.0.1", "localhost", "[::1]")})
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
        server = uvicorn.Server(uvicorn.Config(create_app(models, config), log_level=log_level))
        server.run(sockets=[sock])
        if server.should_exit:
            # Stopped by a signal that uvicorn handled without re-raising it afterwards (seen
            # under heavy load): report it as the interrupt it was.
            raise KeyboardInterrupt
    finally:
        sock.close()
