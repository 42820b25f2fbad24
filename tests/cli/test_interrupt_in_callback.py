"""Ctrl-C that lands in Python code called from C (a ctypes callback of llvmlite while numba
compiles; here a ``__del__``, whose exceptions Python also only reports) still stops the
command: the CLI delivers the swallowed KeyboardInterrupt again. Before, the command went
on to the end of its work (a cold-cache ``mrfm simulate`` ran for minutes after Ctrl-C)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import os, signal, time
from mrfm.cli.main import _InterruptWatch

class Callback:
    def __del__(self):  # SIGINT arrives while it runs: the KeyboardInterrupt is swallowed
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(10000):
            pass

try:
    with _InterruptWatch() as watch:
        Callback()
        t0 = time.monotonic()
        while time.monotonic() - t0 < 60.0:  # the rest of the command's work
            pass
    print("finished", watch.seen)
except KeyboardInterrupt:
    print("interrupted")
"""


def test_an_interrupt_swallowed_by_a_callback_is_raised_again():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=120)
    assert proc.stdout.split() == ["interrupted"], (proc.stdout, proc.stderr)
    assert proc.stderr == ""  # the swallowed one is not reported either
