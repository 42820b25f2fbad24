"""The documentation in docs/ exists, is linked, and keeps up with the code.

Independent truth: the files in the repository, the argument parser behind ``mrfm --help``,
the configuration dataclasses (their spec'd keys), the drivers' declared commands, and the
loader itself (the examples must load).

- every ``*.md`` named in README.md or in a docstring/comment under mrfm/ (and, likewise,
  under tests/, benchmarks/ and in the shipped TOML files) exists, at the path named
  (relative to the repository root) or under docs/;
- every subcommand listed by ``mrfm --help`` (and ``mrfm rig``'s actions) is documented in
  docs/API.md as ``mrfm <name>``;
- docs/README.md indexes every document in docs/;
- relative links between the documents resolve, anchors included (GitHub heading slugs);
- every ``mrfm/...py`` path the documents name exists;
- every key of every configuration section (the spec'd dataclass fields of mrfm.config)
  appears in docs/CONFIGURATION.md, and its complete TOML examples load;
- every command a driver declares (Setting / Measurement query and set mnemonics) appears
  in docs/INSTRUMENTS.md;
- every Markdown table row has as many cells as its header (escaped pipes).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
MD_NAME = re.compile(r"[A-Za-z0-9_./-]+\.md\b")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _named_documents(text: str) -> set[str]:
    return {m.group(0) for m in MD_NAME.finditer(text)}


def _exists_in_repo(name: str) -> bool:
    """The document at the named path (relative to the root) or under docs/ by its name."""
    relative = name.lstrip("./") if name.startswith("./") else name.lstrip("/")
    return (ROOT / relative).is_file() or (DOCS / Path(name).name).is_file()


def _package_sources() -> list[Path]:
    return sorted((ROOT / "mrfm").rglob("*.py"))


def _other_sources() -> list[Path]:
    found = [p for folder in ("tests", "benchmarks") for p in (ROOT / folder).rglob("*.py")]
    found += [p for folder in ("configs", "models", "instruments")
              for p in (ROOT / folder).glob("*.toml")]
    return sorted(found)


def test_documents_named_in_the_readme_exist():
    missing = sorted(n for n in _named_documents(_text(ROOT / "README.md"))
                     if not _exists_in_repo(n))
    assert missing == [], f"README.md names documents that do not exist: {missing}"


@pytest.mark.parametrize("where", ["package", "tests, benchmarks and data files"])
def test_documents_named_in_the_sources_exist(where):
    sources = _package_sources() if where == "package" else _other_sources()
    assert sources
    missing = set()
    for path in sources:
        for name in _named_documents(_text(path)):
            if not _exists_in_repo(name):
                missing.add(f"{path.relative_to(ROOT)}: {name}")
    assert sorted(missing) == []


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    from mrfm.cli.main import build_parser

    parser = build_parser()
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:  # noqa: SLF001 - argparse has no public accessor
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            found.update(action.choices)
    return found


def test_help_lists_the_subcommands_the_parser_has():
    out = subprocess.run([sys.executable, "-m", "mrfm.cli.main", "--help"],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    help_text = out.stdout + out.stderr
    for name in _subcommands():
        assert re.search(rf"^\s+{re.escape(name)}\b", help_text, re.MULTILINE), name


def test_every_subcommand_is_documented_in_api_md():
    api = _text(DOCS / "API.md")
    commands = _subcommands()
    assert commands, "no subcommands found"
    missing = [name for name in commands if f"mrfm {name}" not in api]
    for name, sub in commands.items():
        for action in sub._actions:  # noqa: SLF001
            if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
                missing += [f"{name} {a}" for a in action.choices
                            if f"mrfm {name} {a}" not in api]
    assert missing == [], f"subcommands missing from docs/API.md: {missing}"


def test_docs_index_lists_every_document():
    index = _text(DOCS / "README.md")
    missing = [p.name for p in DOCS.glob("*.md")
               if p.name != "README.md" and f"]({p.name})" not in index]
    assert missing == []


def _slug(heading: str) -> str:
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    anchors = set()
    in_code = False
    for line in _text(path).splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            anchors.add(_slug(line.lstrip("#")))
    return anchors


@pytest.mark.parametrize("doc", sorted(p.name for p in DOCS.glob("*.md")))
def test_links_between_documents_resolve(doc):
    path = DOCS / doc
    bad = []
    for target in LINK.findall(_text(path)):
        if re.match(r"^[a-z]+://", target):
            continue
        file_part, _, anchor = target.partition("#")
        dest = path if not file_part else (path.parent / file_part).resolve()
        if not dest.exists():
            bad.append(target)
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            bad.append(target)
    assert bad == [], f"{doc}: broken links {bad}"


@pytest.mark.parametrize("doc", sorted(p.name for p in DOCS.glob("*.md")))
def test_module_paths_named_in_the_docs_exist(doc):
    named = set(re.findall(r"\bmrfm/[\w/]+\.py\b", _text(DOCS / doc)))
    missing = sorted(p for p in named if not (ROOT / p).is_file())
    assert missing == [], f"{doc} names files that do not exist: {missing}"


def _config_section_classes() -> list[type]:
    """Every dataclass with spec'd fields defined in a module of mrfm.config."""
    import mrfm.config
    from mrfm.config.schema import section_fields

    classes = []
    for info in pkgutil.iter_modules(mrfm.config.__path__, "mrfm.config."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (isinstance(value, type) and dataclasses.is_dataclass(value)
                    and value.__module__ == module.__name__ and section_fields(value)):
                classes.append(value)
    return classes


def test_every_configuration_key_is_documented():
    from mrfm.config.schema import section_fields

    text = _text(DOCS / "CONFIGURATION.md")
    classes = _config_section_classes()
    assert classes, "no configuration sections found"
    missing = sorted(f"{cls.__name__}.{name}" for cls in classes
                     for name in section_fields(cls) if f"`{name}`" not in text)
    assert missing == [], f"keys missing from docs/CONFIGURATION.md: {missing}"


def test_configuration_examples_load():
    from mrfm.config import loads

    blocks = re.findall(r"```toml\n(.*?)```", _text(DOCS / "CONFIGURATION.md"), re.DOTALL)
    complete = [b for b in blocks if b.startswith("name =")]
    assert len(complete) >= 2
    for block in complete:
        exp = loads(block)
        assert exp.scan.height.size >= 1


def test_every_driver_command_is_documented():
    from mrfm.drivers import DRIVERS, driver_class
    from mrfm.drivers.base import Measurement, Setting

    text = _text(DOCS / "INSTRUMENTS.md")
    missing = []
    for name in DRIVERS:
        cls = driver_class(name)
        for klass in cls.__mro__:
            for attr in vars(klass).values():
                if isinstance(attr, Setting):
                    commands = (attr.get_cmd, attr.set_cmd)
                elif isinstance(attr, Measurement):
                    commands = (attr.get_cmd,)
                else:
                    continue
                for command in commands:
                    if command and command.split(" ")[0] not in text:
                        missing.append(f"{name}: {command}")
    assert missing == [], f"driver commands missing from docs/INSTRUMENTS.md: {missing}"


@pytest.mark.parametrize("doc", sorted(p.name for p in DOCS.glob("*.md")))
def test_tables_have_as_many_cells_in_every_row_as_in_their_header(doc):
    """A ``|`` inside a table cell must be escaped (``\\|``), even inside code spans."""
    bad = []
    in_code = False
    header = None
    for number, line in enumerate(_text(DOCS / doc).splitlines(), 1):
        if line.startswith("```"):
            in_code = not in_code
            header = None
            continue
        if in_code or not line.startswith("|"):
            header = None
            continue
        cells = len(re.findall(r"(?<!\\)\|", line))
        if header is None:
            header = cells
        elif cells != header:
            bad.append(number)
    assert bad == [], f"{doc}: table rows with a different cell count, lines {bad}"


def _options(parser: argparse.ArgumentParser, prefix: str) -> dict[str, str]:
    """Long option -> the command it belongs to, for ``parser`` and its subcommands."""
    found: dict[str, str] = {}
    for action in parser._actions:  # noqa: SLF001
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for name, sub in action.choices.items():
                found.update(_options(sub, f"{prefix} {name}"))
        else:
            for flag in action.option_strings:
                if flag.startswith("--") and flag not in ("--help", "--version"):
                    found[f"{prefix} {flag}"] = flag
    return found


def test_every_command_line_option_is_documented_and_not_called_planned():
    from mrfm.cli.main import build_parser

    api = _text(DOCS / "API.md")
    status = api[api.index("## Status of the December 2026 additions"):]
    options = _options(build_parser(), "mrfm")
    assert options
    undocumented = sorted(where for where, flag in options.items() if flag not in api)
    assert undocumented == [], f"options missing from docs/API.md: {undocumented}"
    # the options the contract's additions introduce: once the parser has one, the status
    # table must not call it planned
    additions = ("--station", "--monitor", "--overwrite", "--max-memory", "--port")
    stale = sorted(where for where, flag in options.items() if flag in additions
                   for row in status.splitlines()
                   if f"`{where}" in row and "planned" in row)
    assert stale == [], f"docs/API.md calls implemented options planned: {stale}"
