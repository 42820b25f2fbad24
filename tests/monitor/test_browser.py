"""The monitor page in a real headless browser (Chromium driven by playwright).

Checks text on the page, and that it changes, never pixels: the page loads, follows a
virtual-rig scan running in another process (points and state change without a
reload, two pages at once), says "complete" at the end with its figures loaded, and
shows an interrupted scan and a fault's message; no page logs a console error.
Pages are closed before the server stops.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

import numpy as np
import pytest

from mrfm.data.nexus import FileFormatError
from mrfm.monitor import MonitorProcess, MonitorServer, read_snapshot
from mrfm.monitor.snapshot import TransientReadError

from .files import make_scan, slow_demo_config

pytestmark = [pytest.mark.timeout(180)]


@contextmanager
def _page(browser, url: str):
    """A page on ``url`` collecting console errors and uncaught exceptions."""
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    try:
        yield page, errors
    finally:
        page.close()


def _wait_text(page, selector: str, predicate, timeout: float = 30.0) -> str:
    t_end = time.monotonic() + timeout
    text = ""
    while time.monotonic() < t_end:
        text = page.inner_text(selector)
        if predicate(text):
            return text
        page.wait_for_timeout(100)
    raise AssertionError(f"{selector}: still {text!r} after {timeout} s")


def _images_loaded(page) -> bool:
    return page.evaluate("['map', 'line', 'channels'].every("
                         "id => { const i = document.getElementById(id); "
                         "return i.complete && i.naturalWidth > 100; })")


def test_page_follows_a_running_scan(browser, tmp_path):
    config = slow_demo_config(tmp_path, nx=10, ny=12, settle="6 s")  # 60 ms per point, 7 s
    out = tmp_path / "live.h5"
    scan = subprocess.Popen([sys.executable, "-m", "mrfm.cli.main", "scan", str(config),
                             "--rig", "virtual", "-o", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "MPLBACKEND": "Agg"})
    try:
        t_end = time.monotonic() + 150  # a cold numba cache compiles the physics first
        while not out.exists() and scan.poll() is None and time.monotonic() < t_end:
            time.sleep(0.05)
        assert out.exists(), scan.stderr.read() if scan.poll() is not None else "no file"
        with MonitorProcess(out) as mon, _page(browser, mon.url) as (a, errors_a), \
                _page(browser, mon.url) as (b, errors_b):
            _wait_text(a, "#state", lambda t: t == "running")
            first = _wait_text(a, "#points", lambda t: t.split(" / ")[0] not in ("-", "0"))
            assert first.endswith("/ 120 (" + first.split("(")[1])
            # the page updates itself (no reload) while the scan runs: both pages
            later = _wait_text(a, "#points", lambda t: t != first)
            assert int(later.split(" / ")[0]) > int(first.split(" / ")[0])
            assert _wait_text(b, "#state", lambda t: t in ("running", "complete"))
            _wait_text(a, "#state", lambda t: t == "complete", timeout=60)
            _wait_text(b, "#state", lambda t: t == "complete", timeout=10)
            for page in (a, b):
                assert _wait_text(page, "#points", lambda t: t == "120 / 120 (100.0 %)")
                page.wait_for_function("() => document.getElementById('map').src"
                                       ".includes('v=')")
                t_end = time.monotonic() + 10
                while not _images_loaded(page) and time.monotonic() < t_end:
                    page.wait_for_timeout(100)
                assert _images_loaded(page)
            # the force with an SI-prefixed newton unit, e.g. "-12.34 aN"
            assert re.search(r"force\b.*\t-?[0-9.]+ [zafpnµm]?N\b", a.inner_text("#readings"))
            assert "SR830" in a.inner_text("#identities")
            assert a.inner_text("#title").startswith("demo:")
            assert errors_a == [] and errors_b == []
        assert scan.wait(60) == 0
    finally:
        if scan.poll() is None:
            scan.kill()
        scan.wait()
        scan.stderr.close()


def test_interrupted_fault_and_silent_files(browser, tmp_path, monkeypatch):
    interrupted = make_scan(tmp_path / "i.h5", done=9, status="interrupted")
    fault = make_scan(tmp_path / "f.h5", done=5,
                      status="fault: lockin: no reply to 'OUTP? 1' within 2 s")
    with MonitorServer(interrupted) as mon, _page(browser, mon.url) as (page, errors):
        _wait_text(page, "#state", lambda t: t == "interrupted")
        assert page.inner_text("#points") == "9 / 24 (37.5 %)"
        assert "--resume" in page.inner_text("#message")
        assert page.inner_text("#eta") == "-"
        assert errors == []
    with MonitorServer(fault) as mon, _page(browser, mon.url) as (page, errors):
        _wait_text(page, "#state", lambda t: t == "stopped by a fault")
        assert page.inner_text("#message") == "Fault: lockin: no reply to 'OUTP? 1' within 2 s"
        assert page.is_visible("#message")
        assert errors == []
    # a file left "running" (writer killed with SIGKILL) and silent for longer than the limit
    silent = make_scan(tmp_path / "k.h5", done=4, status="running")
    monkeypatch.setattr("mrfm.monitor.snapshot.STALE_AFTER_S", 0.0)
    with MonitorServer(silent) as mon, _page(browser, mon.url) as (page, errors):
        _wait_text(page, "#state", lambda t: t == "running? (no new data)")
        assert "killed" in page.inner_text("#message")
        assert errors == []


def test_killed_scan_file(browser, tmp_path):
    """A scan stopped by SIGTERM says "interrupted"; its measured points stay on the page.

    While it runs, the file is read as the monitor reads it, as fast as possible: the
    measured count never goes back and every measured point has its values.
    """
    config = slow_demo_config(tmp_path, nx=10, ny=10, settle="5 s")
    out = tmp_path / "killed.h5"
    scan = subprocess.Popen([sys.executable, "-m", "mrfm.cli.main", "scan", str(config),
                             "--rig", "virtual", "-o", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    counts = []
    try:
        t_end = time.monotonic() + 150
        while (time.monotonic() < t_end and scan.poll() is None
               and (not counts or counts[-1] < 20)):
            try:
                snap = read_snapshot(out)
            except (FileFormatError, TransientReadError):  # not there yet, or mid-write
                time.sleep(0.02)
                continue
            # every point the reader sees as measured has its values (mask read first)
            assert np.isfinite(snap.channel("force").values[snap.measured]).all()
            counts.append(int(snap.measured.sum()))
            time.sleep(0.005)  # hard, but leave the scan (and its virtual rig) some CPU
        assert counts and counts[-1] >= 20, scan.stderr.read() if scan.poll() else counts
        assert counts == sorted(counts)
        scan.send_signal(signal.SIGTERM)
        assert scan.wait(60) == 130
    finally:
        if scan.poll() is None:
            scan.kill()
        scan.wait()
        scan.stderr.close()
    with MonitorServer(out) as mon, _page(browser, mon.url) as (page, errors):
        _wait_text(page, "#state", lambda t: t == "interrupted")
        done = int(page.inner_text("#points").split(" / ")[0])
        assert 20 <= done < 100
        assert errors == []
