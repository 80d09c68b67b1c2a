"""``rag ui``: serve the web UI (registered into the ``rag`` command line by ``rag.cli``).

    rag ui                                   # http://127.0.0.1:7860, this machine only
    rag ui --host 0.0.0.0 --allow-remote --auth admin:secret

Binding to anything but a loopback address needs ``--allow-remote``; ``--auth USER:PASS`` turns on
Gradio's login. Without an index, the bundled corpus is ingested first.
"""

from __future__ import annotations

import ipaddress
import sys

from rag.errors import ConfigError


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """``"USER:PASS"`` → ("USER", "PASS"). Raises ConfigError when either part is empty."""
    if value is None:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ConfigError("--auth must be USER:PASS with a non-empty user and password")
    return user, password


def cmd_ui(args) -> int:
    from rag.settings import Settings

    if not is_loopback(args.host) and not args.allow_remote:
        raise ConfigError(f"--host {args.host} would expose the UI to the network; add --allow-remote "
                          f"(and preferably --auth USER:PASS) to confirm")
    auth = parse_auth(args.auth)
    overrides = {"data_dir": args.data_dir} if getattr(args, "data_dir", None) else {}
    settings = Settings.from_env(**overrides)
    if not is_loopback(args.host) and auth is None:
        print("warning: serving to the network without --auth; anyone who can reach it can change the "
              "knowledge base", file=sys.stderr)
    from rag.index import read_current

    if read_current(settings) is None:
        from rag.ingest import ingest

        print(f"no index in {settings.data_dir}: ingesting the bundled corpus …", file=sys.stderr)
        ingest(settings)
    from ui.app import serve

    print(f"serving on http://{args.host}:{args.port}/ (data: {settings.data_dir}; Ctrl+C to stop)", file=sys.stderr)
    serve(settings, host=args.host, port=args.port, auth=auth, block=True)
    return 0


def register(sub) -> None:
    """Add the ``ui`` sub-command to the ``rag`` parser's subparsers."""
    p = sub.add_parser("ui", help="serve the web UI (Gradio) on this machine")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--allow-remote", action="store_true", help="allow binding to a non-loopback address")
    p.add_argument("--auth", metavar="USER:PASS", help="require this login")
    p.set_defaults(func=cmd_ui)
