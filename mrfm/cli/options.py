"""Options shared by several subcommands: ``--max-memory`` and output-path checks."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

#: suffixes of the HDF5 files the commands write
HDF5_SUFFIXES = (".h5", ".hdf5", ".nxs")


def add_max_memory(parser: argparse.ArgumentParser) -> None:
    """Add ``--max-memory SIZE`` (API.md: commands that allocate large grids)."""
    parser.add_argument(
        "--max-memory", default=None, metavar="SIZE",
        help="refuse (exit 2) a job whose estimated memory exceeds SIZE, e.g. 2GiB or 500MB "
        "(default: the memory available now)",
    )


def apply_max_memory(args: argparse.Namespace) -> None:
    """Install ``--max-memory`` as the process-wide limit of :mod:`mrfm.resources`."""
    from mrfm import resources

    value = args.max_memory
    resources.set_limit(None if value is None else resources.parse_size(value))


def check_output(path: str | Path, *, inputs: Iterable[str | Path] = (),
                 suffixes: tuple[str, ...] | None = None) -> Path:
    """Validate ``-o PATH`` before any work (see :func:`mrfm.data.files.check_output_path`)."""
    from mrfm.data.files import check_output_path

    return check_output_path(path, inputs=inputs, option="-o", suffixes=suffixes)


__all__ = ["HDF5_SUFFIXES", "add_max_memory", "apply_max_memory", "check_output"]
