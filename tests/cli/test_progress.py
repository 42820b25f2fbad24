"""Progress lines on a stderr that is not a terminal (:mod:`mrfm.cli.progress`, issue 17).

Truths: the rule as the issue states it (a line per 5 % of the work or per 10 s,
whichever comes first, and one at 100 %), checked on a fake clock; then every long
command run as CI runs it (a subprocess, stderr a pipe): its lines parse, count up,
end at 100 % and keep the spacing rule, and ``--json`` leaves stdout one JSON object
(the demo's lines are checked the same way in ``test_demo.py``, in-process, with the demo
run that test makes anyway).
"""

from __future__ import annotations

import io
import json
import math
import re
import subprocess
import sys
import time
from pathlib import Path

from mrfm.cli.progress import LINE_PATTERN, CommandProgress, ProgressLines, duration

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "configs" / "demo.toml"

# the real command line, its progress lines from the first report on (QUIET_S = 0: the
# tests' jobs are kept short; the quiet period has its own test below)
RUNNER = ("import sys, mrfm.cli.progress as p; p.QUIET_S = 0.0; "
          "from mrfm.cli.main import main; sys.exit(main(sys.argv[1:]))")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _lines(**kwargs) -> tuple[ProgressLines, FakeClock, io.StringIO]:
    clock, stream = FakeClock(), io.StringIO()
    return ProgressLines("simulate", "tip positions", clock=clock, stream=stream,
                         **kwargs), clock, stream


def _parsed(text: str) -> list[re.Match]:
    return [LINE_PATTERN.match(line) for line in text.splitlines()]


def test_a_line_every_5_percent_or_every_10_s_whichever_first_and_one_at_100():
    lines, clock, stream = _lines(quiet_s=0.0)
    for t, done in ((0.0, 0), (0.5, 1), (1.0, 6), (1.5, 7), (12.0, 8), (12.5, 9),
                    (13.0, 13), (14.0, 100), (15.0, 100)):
        clock.now = t
        lines.update(done, 100)
    got = _parsed(stream.getvalue())
    assert all(got), stream.getvalue()
    # 6 %: 5 % more than nothing; 8 %: 11 s after the last line; 13 %: 5 % after 8 %;
    # 100 % once (the repeated report at 15 s prints nothing)
    assert [int(m["done"]) for m in got] == [6, 8, 13, 100]
    assert [m["percent"] for m in got] == ["6", "8", "13", "100"]
    assert [m["elapsed"] for m in got] == ["1 s", "12 s", "13 s", "14 s"]
    assert got[-1]["left"] == "0 s"
    assert {m["label"] for m in got} == {"simulate"}
    assert {m["unit"] for m in got} == {"tip positions"}


def test_the_10_s_rule_alone_and_the_heartbeat_while_nothing_is_reported():
    lines, clock, stream = _lines(quiet_s=0.0)
    lines.update(0, 1000)
    for t in range(1, 40):  # 0.1 % per second: only the clock makes lines
        clock.now = float(t)
        lines.update(t, 1000)
    dones = [int(m["done"]) for m in _parsed(stream.getvalue())]
    assert dones == [10, 20, 30]
    # nothing reported for a while (a long unit, a compilation): the heartbeat repeats
    # the state 10 s after the last line, never more often
    clock.now = 39.5
    lines.heartbeat()
    assert len(_parsed(stream.getvalue())) == 3
    clock.now = 40.0
    lines.heartbeat()
    clock.now = 49.0
    lines.heartbeat()
    clock.now = 50.0
    lines.heartbeat()
    got = _parsed(stream.getvalue())
    assert [(m["done"], m["elapsed"]) for m in got[3:]] == [("39", "40 s"), ("39", "50 s")]


def test_time_left_counts_from_the_first_progress_not_from_a_slow_start():
    lines, clock, stream = _lines(quiet_s=0.0)
    lines.update(0, 100)
    clock.now = 60.0  # e.g. numba compiling before the first unit
    lines.update(10, 100)
    clock.now = 61.0
    lines.update(20, 100)  # 10 units per second since the first progress
    got = _parsed(stream.getvalue())
    assert got[-1]["elapsed"] == "0:01:01" and got[-1]["left"] == "8 s"
    # before any rate is known: "?"
    lines2, clock2, stream2 = _lines(quiet_s=0.0, every_s=10.0)
    lines2.update(0, 100)
    clock2.now = 10.0
    lines2.heartbeat()
    assert _parsed(stream2.getvalue())[0]["left"] == "?"


def test_short_jobs_stay_quiet_and_a_terminal_gets_no_lines():
    lines, clock, stream = _lines(quiet_s=1.0)
    for t, done in ((0.0, 0), (0.3, 50), (0.6, 100)):
        clock.now = t
        lines.update(done, 100)
    assert stream.getvalue() == ""
    lines, clock, stream = _lines(quiet_s=1.0)
    for t, done in ((0.0, 0), (0.5, 30), (1.2, 40), (1.4, 42), (1.6, 100)):
        clock.now = t
        lines.update(done, 100)
    assert [int(m["done"]) for m in _parsed(stream.getvalue())] == [40, 100]
    off, clock, stream = _lines(enabled=False, quiet_s=0.0)
    off.update(50, 100)
    off.update(100, 100)
    off.heartbeat()
    assert stream.getvalue() == ""


def test_durations_read_as_seconds_then_hours():
    assert duration(0.4) == "0 s" and duration(42.2) == "42 s"
    assert duration(61) == "0:01:01" and duration(3 * 3600 + 5) == "3:00:05"
    assert duration(math.nan) == "?" and duration(math.inf) == "?"


def test_command_progress_off_a_terminal_beats_while_the_work_is_silent(monkeypatch, capsys):
    import mrfm.cli.progress as progress

    monkeypatch.setattr(progress, "EVERY_S", 0.2)
    monkeypatch.setattr(progress, "QUIET_S", 0.0)
    with CommandProgress("dataset", "items", terminal=False) as bar:
        bar.update(0, 4)
        time.sleep(1.5)  # the heartbeat looks once a second
        bar.update(4, 4)
    got = _parsed(capsys.readouterr().err)
    assert all(got) and len(got) >= 2
    assert got[0]["done"] == "0" and got[-1]["done"] == "4" and got[-1]["percent"] == "100"


# ----------------------------------------------------------------- the commands
def _run(args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", RUNNER, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def _seconds(text: str) -> float:
    if text.endswith(" s"):
        return float(text[:-2])
    h, m, s = (int(v) for v in text.split(":"))
    return 3600.0 * h + 60.0 * m + s


def check_progress(err: str, label: str, *, at_least: int = 3) -> list[re.Match]:
    """The command's progress lines: each in the documented format, counts rising, the
    last at 100 %, and consecutive lines 5 % of the work or 10 s apart."""
    mine = [line for line in err.splitlines() if re.match(rf"mrfm: {label} \d+/", line)]
    got = [LINE_PATTERN.match(line) for line in mine]
    assert all(got), "\n".join(line for line, m in zip(mine, got, strict=True) if not m)
    done = [int(m["done"]) for m in got]
    assert len(set(done)) >= at_least, err[-3000:]
    total = {int(m["total"]) for m in got}
    assert len(total) == 1, total
    total = total.pop()
    assert done[-1] == total and got[-1]["percent"] == "100" and got[-1]["left"] == "0 s"
    for m in got:
        assert int(m["percent"]) == math.floor(100 * int(m["done"]) / total)
    elapsed = [_seconds(m["elapsed"]) for m in got]
    assert all(b >= a for a, b in zip(elapsed, elapsed[1:], strict=False)), elapsed
    # counts rise; a count repeats only in a heartbeat, 10 s after the line before
    # (elapsed is printed in whole seconds: 9 s apart at least)
    for i in range(1, len(got)):
        assert done[i] > done[i - 1] or (
            done[i] == done[i - 1] and elapsed[i] - elapsed[i - 1] >= 9.0), done
    for i in range(1, len(got) - 1):  # the last line is due at 100 % whatever the spacing
        step = (done[i] - done[i - 1]) / total
        assert step >= 0.05 - 1e-9 or elapsed[i] - elapsed[i - 1] >= 9.0, (
            got[i - 1].group(0), got[i].group(0))
    return got


def test_simulate_prints_progress_lines_and_json_stays_alone_on_stdout(tmp_path):
    proc = _run(["simulate", str(DEMO), "--method", "direct", "--set",
                 'scan.x=["-62 nm", "62 nm", 24]', "--set", 'scan.y=["-62 nm", "62 nm", 24]',
                 "--json"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = check_progress(proc.stderr, "simulate")
    assert got[0]["unit"] == "tip positions" and got[0]["total"] == str(24 * 24)
    assert json.loads(proc.stdout)["shape"] == [24, 24, 1]  # one object, nothing else


def test_timeseries_prints_progress_lines(tmp_path):
    cfg = tmp_path / "exp.toml"
    cfg.write_text(DEMO.read_text() + '\n[timeseries]\nchunk = 16384\nduration = "4 s"\n')
    proc = _run(["timeseries", str(cfg), "-o", str(tmp_path / "ts.h5"), "--json"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = check_progress(proc.stderr, "timeseries", at_least=10)
    assert got[-1]["total"] == str(4 * 60000) and got[0]["unit"] == "samples"
    assert json.loads(proc.stdout)["samples_written"] == 4 * 60000


def test_scan_prints_progress_lines(tmp_path):
    cfg = tmp_path / "exp.toml"
    cfg.write_text(DEMO.read_text().replace('x = ["-62 nm", "62 nm", 32]',
                                            'x = ["-62 nm", "62 nm", 8]')
                   .replace('y = ["-62 nm", "62 nm", 32]', 'y = ["-62 nm", "62 nm", 12]'))
    proc = _run(["scan", str(cfg), "--rig", "virtual", "-o", str(tmp_path / "s.h5"), "--json"],
                tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = check_progress(proc.stderr, "scan", at_least=6)
    assert got[-1]["total"] == "96" and got[0]["unit"] == "points"
    assert json.loads(proc.stdout)["status"] == "complete"


def test_dataset_prints_progress_lines(tmp_path):
    from tests.imaging.test_dataset import CONFIG

    cfg = tmp_path / "exp.toml"
    cfg.write_text(CONFIG)
    proc = _run(["dataset", str(cfg), "-n", "4", "-o", str(tmp_path / "set"), "--workers", "1",
                 "--json"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = check_progress(proc.stderr, "dataset", at_least=4)
    assert [m["done"] for m in got][-4:] == ["1", "2", "3", "4"] and got[0]["unit"] == "items"
    assert json.loads(proc.stdout)["generated"] == 4
