"""A small run of benchmarks/fuzz_cli.py: no hang, no traceback, no invalid JSON.

The full run (>= 1000 configs, >= 200 files) is a benchmark, not a test (minutes).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "fuzz_cli.py"


def test_fuzz_smoke():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--configs", "30", "--files", "10",
                           "--workers", "1", "--seed", "3", "--json", "--quiet"],
                          capture_output=True, text=True, timeout=600)
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert proc.returncode == 0, (summary, proc.stderr[-2000:])
    for family in ("config", "hdf5"):
        s = summary[family]
        assert s["hangs"] == 0 and s["tracebacks"] == 0 and s["invalid_json"] == 0, summary
        assert "1" not in s["exit_codes"], summary
    assert summary["config"]["runs"] == 30 and summary["hdf5"]["runs"] == 10
