"""Checks ``mrfm dataset`` makes before any work, and its local dask cluster's hygiene.

- the item count and worker count are bounded;
- every ``[dataset] vary`` range is applied to the experiment at both ends, so a
  bound of the wrong dimension (a height range in degrees) or out of the field's
  range is refused with the key, value and what is allowed;
- the memory of the items computed at the same time is estimated (:mod:`mrfm.resources`);
- the output folder is created (or refused) with one readable line;
- the local cluster listens on 127.0.0.1 only, and its worker processes ignore SIGINT
  (Ctrl-C reaches the command, which stops them and keeps the finished items).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mrfm.errors import ConfigError, UserError

#: largest ``-n`` accepted
MAX_ITEMS = 1_000_000
#: largest ``--workers`` accepted
MAX_WORKERS = 512
#: interface the local cluster (scheduler, workers, dashboard) listens on
LOOPBACK = "127.0.0.1"


def check_count(count: int) -> None:
    """UserError unless ``1 <= count <= MAX_ITEMS``."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_ITEMS:
        raise UserError(f"-n {count}: the item count must be between 1 and {MAX_ITEMS:,}"
                        .replace(",", " "))


def check_workers(workers: int | None) -> None:
    """UserError unless ``workers`` is None or in [1, MAX_WORKERS]."""
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise UserError(f"--workers {workers}: must be between 1 and {MAX_WORKERS}")


def validate_vary(exp: Any) -> None:
    """Apply each ``dataset.vary`` bound, as written, to the experiment before any work.

    Refused (ConfigError naming the key, the bound and what is allowed): a bound of the
    wrong dimension or unreadable (a height range in degrees), or a range whose both ends
    are invalid (an unknown key, a range entirely out of the field's bounds). A range
    only partly inside the allowed values is accepted: the items that draw an invalid
    value fail and are listed in the manifest.
    """
    from mrfm.units import UnitError

    raw = exp.as_dict().get("dataset", {})
    vary = raw.get("vary", {}) if isinstance(raw, dict) else {}
    for key, bounds in vary.items():
        errors = []
        for bound in bounds:
            try:
                exp.with_overrides({key: bound})
            except UnitError as exc:
                raise ConfigError(f"dataset.vary.{key}: bound {bound!r} is not a valid "
                                  f"{key} ({exc})") from None
            except ConfigError as exc:
                errors.append(str(exc))
        if errors and len(errors) == len(bounds):
            raise ConfigError(f"dataset.vary.{key}: no value of the range {bounds!r} is "
                              f"valid ({errors[0]})")


def check_item_memory(exp: Any, settings: Any, workers: int) -> None:
    """ResourceLimitError if ``workers`` items at once would not fit in memory."""
    from mrfm.imaging.dataset_item import item_grid
    from mrfm.resources import check, reconstruction_bytes

    grid = item_grid(exp, settings)
    per_item = 3 * reconstruction_bytes(grid.object_shape, grid.data_shape)
    shape = " x ".join(str(n) for n in grid.object_shape)
    check(per_item * workers,
          what=f"{workers} dataset item(s) of {shape} voxels at a time",
          setting="a smaller dataset.grid or dataset.margin, or fewer --workers")


def output_folder(path: str | Path, config_path: str | Path) -> Path:
    """Create (if needed) and return the output folder; UserError with one line if it cannot."""
    from mrfm.data.files import probe_folder

    out = Path(path)
    if out.exists() and not out.is_dir():
        raise UserError(f"-o {out}: exists and is not a folder")
    if out.resolve() == Path(config_path).resolve():
        raise UserError(f"-o {out}: is the experiment file; choose an output folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"-o {out}: cannot create the folder "
                        f"({exc.strerror or exc.__class__.__name__})") from None
    probe_folder(out, f"-o {out}")
    return out


@contextlib.contextmanager
def sigint_ignored_in_children() -> Iterator[None]:
    """Start processes inside this block with SIGINT ignored (they inherit the disposition:
    a terminal's Ctrl-C then interrupts only this process, which stops them cleanly)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def dashboard_url(cluster: Any) -> str | None:
    """The dashboard link of a local cluster (None if it has none)."""
    try:
        return str(cluster.dashboard_link) or None
    except (AttributeError, KeyError, ValueError):
        return None


__all__ = ["LOOPBACK", "MAX_ITEMS", "MAX_WORKERS", "check_count", "check_item_memory",
           "check_workers", "dashboard_url", "output_folder", "sigint_ignored_in_children",
           "validate_vary"]
