"""Every command in the README works as written.

The README's ``bash`` blocks are split into commands and run, in order, in one
scratch folder that holds a link to the checkout's ``configs/``; ``toml``
blocks whose first line is ``# file: NAME`` are written there first, and
``python`` blocks are run with this interpreter. The two quick-start commands
(fresh virtual environments) are what ``.ci/run`` itself executes, so they are
checked by CI rather than here; the test asserts that ``.ci/run`` runs the
README's test command verbatim.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)
MRFM = Path(sys.executable).with_name("mrfm")


def _sections() -> tuple[str, str]:
    """(quick-start section, everything after it)."""
    start = README.index("## Quick start")
    end = README.index("\n## ", start + 5)
    return README[start:end], README[end:]


def _blocks(text: str, lang: str) -> list[str]:
    return [body for kind, body in BLOCK.findall(text) if kind == lang]


def _commands() -> list[str]:
    commands = []
    for body in _blocks(_sections()[1], "bash"):
        for line in body.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


def test_ci_runs_the_readme_test_command():
    quick = _blocks(_sections()[0], "bash")
    assert len(quick) == 2, "the quick start is exactly two commands"
    ci = (ROOT / ".ci" / "run").read_text()
    assert quick[1].strip() in ci
    assert quick[0].strip().endswith("mrfm demo")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("readme")
    (folder / "configs").symlink_to(ROOT / "configs")
    for body in _blocks(_sections()[1], "toml"):
        first, _, rest = body.partition("\n")
        match = re.fullmatch(r"#\s*file:\s*(\S+)", first.strip())
        if match:
            (folder / match.group(1)).write_text(rest)
    return folder


COMMANDS = _commands()


def test_readme_has_examples_for_every_kind_of_user():
    joined = "\n".join(COMMANDS)
    for word in ("mrfm simulate", "mrfm scan", "mrfm dataset", "mrfm reconstruct", "mrfm plot"):
        assert word in joined


def test_readme_commands_in_order(scratch):
    """The worked examples' commands, one after another in one folder (later ones read what
    earlier ones wrote, so they are one test: xdist workers would split a parametrized
    sequence between folders)."""
    for command in COMMANDS:
        _run_readme_command(scratch, command)


def _run_readme_command(scratch, command: str) -> None:
    argv = shlex.split(command)
    assert argv[0] == "mrfm", command
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.run([str(MRFM), *argv[1:]], cwd=scratch, capture_output=True, text=True,
                          timeout=600, env=env)
    assert proc.returncode == 0, f"{command}\n{proc.stderr[-2000:]}"
    assert "Traceback" not in proc.stderr
    for i, arg in enumerate(argv):
        if arg in ("-o", "--output"):
            assert (scratch / argv[i + 1]).exists(), f"{command} did not write {argv[i + 1]}"
    if "--json" in argv:
        import json

        json.loads(proc.stdout)  # exactly one JSON object on stdout


def test_readme_python(scratch):
    for body in _blocks(_sections()[1], "python"):
        proc = subprocess.run([sys.executable, "-c", body], cwd=scratch, capture_output=True,
                              text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]


def test_rig_file_excerpt_matches_the_shipped_file():
    """The README's real-rig excerpt is the shipped instruments/example-lab.toml, not a
    look-alike: each of its paragraphs appears verbatim in the file."""
    shipped = (ROOT / "instruments" / "example-lab.toml").read_text()
    excerpts = [b for b in _blocks(_sections()[1], "toml") if "[instruments." in b]
    assert excerpts, "the README shows a rig file"
    for body in excerpts:
        for paragraph in body.strip().split("\n\n"):
            assert paragraph in shipped, paragraph


def test_preset_table_names_every_shipped_preset():
    """The README's preset table lists each preset of API.md with the file's own name line."""
    import tomllib

    table = README[README.index("| preset | experiment | protocol |"):]
    table = table[:table.index("\n\n")]
    for name in ("demo", "rugar2004", "degen2009", "mamin2007", "cermit"):
        assert f"`{name}.toml`" in table
        cfg = tomllib.loads((ROOT / "configs" / f"{name}.toml").read_text())
        protocol = cfg["protocol"]["name"]
        row = next(r for r in table.splitlines() if f"`{name}.toml`" in r)
        assert protocol in row, (name, protocol, row)
