"""``rag ui``: serve the web UI (registered into the ``rag`` command line by ``rag.cli``).

    rag ui                                   # http://127.0.0.1:7860, this machine only
    rag ui --host 0.0.0.0 --allow-remote --auth admin:secret
    RAG_UI_AUTH=admin:secret rag ui --host 0.0.0.0 --allow-remote   # credentials kept out of `ps`

Binding to anything but a loopback address needs ``--allow-remote`` and a login (``--auth USER:PASS``
or the environment variable ``RAG_UI_AUTH=USER:PASS``); without both it is refused with exit code 2.
``--auth``/``RAG_UI_AUTH`` on a loopback address turns on the login as well. ``--admin USER:PASS`` (or
``RAG_UI_ADMIN``) adds an administrator account, the only one allowed to change the knowledge base
(upload, delete/hide, restore, re-index, metadata corrections) — on loopback too; a login is then
required (the chat users of ``--auth`` and the admin). Without an index, the bundled corpus is ingested
first.

    RAG_UI_AUTH=reader:pw RAG_UI_ADMIN=boss:secret rag ui   # reader may ask, only boss may change documents
"""

from __future__ import annotations

import ipaddress
import os
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


AUTH_ENV = "RAG_UI_AUTH"
ADMIN_ENV = "RAG_UI_ADMIN"


def parse_auth(value: str | None, source: str = "--auth") -> tuple[str, str] | None:
    """``"USER:PASS"`` → ("USER", "PASS") (the password may contain ":"); None for None. Raises
    ConfigError naming ``source`` when either part is empty."""
    if value is None:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ConfigError(f"{source} must be USER:PASS with a non-empty user and password")
    return user, password


def admin_login(admin_arg: str | None, auth: tuple[str, str] | None, environ=None) -> tuple[str, str] | None:
    """The administrator account from ``--admin`` (``admin_arg``), else ``RAG_UI_ADMIN`` of ``environ``
    (default os.environ); None when none is given. Raises ConfigError when it is malformed or has the
    user name of the chat login ``auth``."""
    environ = os.environ if environ is None else environ
    if admin_arg is not None:
        admin = parse_auth(admin_arg, "--admin")
    else:
        admin = parse_auth(environ.get(ADMIN_ENV) or None, ADMIN_ENV)
    if admin and auth and admin[0] == auth[0]:
        raise ConfigError(f"the admin user {admin[0]!r} is also the chat login: give the admin its own user name")
    return admin


def check_bind(host: str, allow_remote: bool, auth_arg: str | None, environ=None,
               has_admin: bool = False) -> tuple[str, str] | None:
    """The login for serving on ``host``: from ``--auth`` (``auth_arg``), else ``RAG_UI_AUTH`` of
    ``environ`` (default os.environ); None when none is given.

    Raises ConfigError when ``host`` is not a loopback address and either ``allow_remote`` is false or
    there is no login (the UI can change the knowledge base; an admin account, ``has_admin``, counts as
    a login), or when a login is malformed."""
    environ = os.environ if environ is None else environ
    if auth_arg is not None:
        auth = parse_auth(auth_arg)
    else:
        auth = parse_auth(environ.get(AUTH_ENV) or None, AUTH_ENV)
    if not is_loopback(host):
        if not allow_remote:
            raise ConfigError(f"--host {host} would expose the UI to the network; add --allow-remote and a login "
                              f"(--auth USER:PASS or {AUTH_ENV}=USER:PASS) to confirm")
        if auth is None and not has_admin:
            raise ConfigError(f"--host {host} --allow-remote without a login: anyone on the network could change "
                              f"the knowledge base; add --auth USER:PASS or set {AUTH_ENV}=USER:PASS")
    return auth


def cmd_ui(args) -> int:
    from rag.settings import Settings

    admin = admin_login(getattr(args, "admin", None), None)
    auth = check_bind(args.host, args.allow_remote, args.auth, has_admin=admin is not None)
    admin = admin_login(getattr(args, "admin", None), auth)
    overrides = {"data_dir": args.data_dir} if getattr(args, "data_dir", None) else {}
    settings = Settings.from_env(**overrides)
    from rag.index.embeddings import embedder_spec
    from rag.index.store import read_current

    embedder_spec(settings.embeddings)  # an unknown RAG_EMBEDDINGS: one line naming the registered ones, at start

    if read_current(settings) is None:
        from rag.cli import _build_progress
        from rag.index.build import ingest

        print(f"正在建立索引…（首次使用，数据目录 {settings.data_dir}）", file=sys.stderr, flush=True)
        ingest(settings, progress=_build_progress)
    from ui.app import serve

    print(f"serving on http://{args.host}:{args.port}/ (data: {settings.data_dir}; Ctrl+C to stop)", file=sys.stderr)
    serve(settings, host=args.host, port=args.port, auth=auth, admin=admin, block=True)
    return 0


def register(sub) -> None:
    """Add the ``ui`` sub-command to the ``rag`` parser's subparsers."""
    p = sub.add_parser("ui", help="serve the web UI (Gradio) on this machine")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow binding to a non-loopback address (a login is then required)")
    p.add_argument("--auth", metavar="USER:PASS", help=f"require this login (or set {AUTH_ENV}=USER:PASS)")
    p.add_argument("--admin", metavar="USER:PASS",
                   help=f"only this login may change the knowledge base (or set {ADMIN_ENV}=USER:PASS)")
    p.set_defaults(func=cmd_ui)
