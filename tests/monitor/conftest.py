"""Headless Chromium for the monitor's browser tests (Debian's chromium, driven by playwright).

playwright's own browser download is not used: the tests launch the system Chromium
(``/usr/bin/chromium``, or ``MRFM_CHROMIUM``). Locally a missing browser or playwright
skips the browser tests; under CI (``CI=true``, or ``MRFM_REQUIRE_BROWSER=1`` as
``.ci/run`` sets) it fails them, so CI cannot pass without having run them (``.ci/run``
installs chromium when it is missing).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _chromium() -> str | None:
    """MRFM_CHROMIUM when set (only it), else /usr/bin/chromium or chromium on PATH."""
    if os.environ.get("MRFM_CHROMIUM"):
        candidates = [os.environ["MRFM_CHROMIUM"]]
    else:
        candidates = ["/usr/bin/chromium", shutil.which("chromium")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def _unavailable(why: str):
    if (os.environ.get("CI", "").lower() in ("1", "true", "yes")
            or os.environ.get("MRFM_REQUIRE_BROWSER") == "1"):
        pytest.fail(f"browser tests cannot run under CI: {why}", pytrace=False)
    pytest.skip(f"browser tests skipped: {why}")


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session (pages are opened and closed per test)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[test]')")
    exe = _chromium()
    if exe is None:
        _unavailable("no Chromium found (apt-get install chromium, or set MRFM_CHROMIUM)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
