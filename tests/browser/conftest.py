"""Fixtures of the browser suite: the app served from a background thread over a temporary data
directory with the bundled corpus ingested once per module, and headless Chromium via Playwright.

Every test here is marked ``browser``. They are skipped, with the reason, only when /usr/bin/chromium is
absent or the ``playwright`` package is not installed — CI installs both (``chromium``, ``fonts-noto-cjk``,
``fonts-noto-color-emoji`` from apt; playwright from the ``[test]`` extra).
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCAL_PREFIXES = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")
LOCAL_HOSTS = {"127.0.0.1", "::1", "localhost", "0.0.0.0", None}
SERVER_CONNECTS: list = []  # non-local socket connects / name lookups of this process (must stay empty)


def _audit(event: str, args) -> None:
    """Record any attempt of this process (app server, ingest, tests) to reach another host."""
    if event == "socket.connect":
        address = args[1]
        host = address[0] if isinstance(address, tuple) else None  # AF_UNIX paths are local
        if host not in LOCAL_HOSTS:
            SERVER_CONNECTS.append(("connect", address))
    elif event == "socket.getaddrinfo" and args[0] not in LOCAL_HOSTS:
        SERVER_CONNECTS.append(("getaddrinfo", args[0]))


_AUDITING = []


HERE = Path(__file__).resolve().parent
# A test module here imports playwright with pytest.importorskip("playwright.sync_api", reason=...), never with
# a plain import, so that a machine without it reports the modules as skipped instead of failing collection.


def missing_browser() -> str | None:
    """Why the browser tests cannot run here (None when they can)."""
    if not CHROMIUM.exists():
        return (f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium) "
                f"to run the browser tests")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed: pip install -e '.[test]' to run the browser tests"
    return None


# every browser test: the marker, and gradio's own pandas notices silenced
BROWSER_MARKS = (pytest.mark.browser,
                 pytest.mark.filterwarnings("ignore::DeprecationWarning"),  # pandas 3 notices raised inside gradio
                 pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
                 pytest.mark.filterwarnings("ignore:The copy keyword"))


def pytest_collection_modifyitems(config, items):
    reason = missing_browser()
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            for mark in BROWSER_MARKS:
                item.add_marker(mark)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def unused_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def app_settings(tmp_path_factory):
    """Settings over a fresh data directory (RAG_DATA_DIR) with the bundled corpus ingested."""
    if not _AUDITING:  # audit hooks cannot be removed: install one, once
        sys.addaudithook(_audit)
        _AUDITING.append(True)
    data_dir = tmp_path_factory.mktemp("ui-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAG_DATA_DIR", str(data_dir))
        mp.setenv("RAG_LLM", "off")  # extractive answers: deterministic, and nothing leaves the machine
        mp.delenv("RAG_CHROMA_HOST", raising=False)
        mp.setenv("RAG_EMBEDDINGS", "lsa")
        from rag.index.build import ingest
        from rag.settings import Settings

        settings = Settings.from_env()
        ingest(settings)
        yield settings


@pytest.fixture(scope="module")
def app_url(app_settings):
    """The app served on 127.0.0.1 and a free port from a background thread."""
    from ui.app import serve

    port = free_port()
    demo = serve(app_settings, host="127.0.0.1", port=port, block=False)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def outside_requests():
    """URLs requested by any page that are not on this machine (must stay empty)."""
    return []


@pytest.fixture
def new_page(browser, app_url, outside_requests):
    """``new_page()`` → a page of the app in a new browser context (a separate session)."""
    contexts = []

    def make():
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        ctx.on("request", lambda r: None if r.url.startswith(LOCAL_PREFIXES) else outside_requests.append(r.url))
        contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(60_000)
        # assertions wait as long as actions: on a shared 2-core CI machine an upload can take over 5 s to show
        from playwright.sync_api import expect

        expect.set_options(timeout=30_000)
        page.goto(app_url)
        page.wait_for_selector("#question textarea")
        return page

    yield make
    for ctx in contexts:
        ctx.close()
    assert outside_requests == [], f"the browser requested other hosts: {outside_requests}"
    assert SERVER_CONNECTS == [], f"the server process tried to reach other hosts: {SERVER_CONNECTS}"


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    path = Path(__file__).resolve().parents[2] / "artifacts"
    path.mkdir(exist_ok=True)
    return path
