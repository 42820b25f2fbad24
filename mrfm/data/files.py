"""Safe handling of the files a command reads and writes.

- Inputs must be regular files of bounded size, checked before any byte is read
  (a FIFO or ``/dev/zero`` given as a config would otherwise block or be read forever).
- Outputs must land in an existing, writable folder, must not be one of the command's
  inputs, and appear atomically: :func:`atomic_path` yields a temporary name in the
  same folder and renames it into place only when the block completes.
- Files get the user's umask (``0o666 & ~umask``), not the 0600 of ``mkstemp``.

Every refusal is a :class:`~mrfm.errors.UserError` (exit 2) naming the path.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from mrfm.errors import UserError

MIB = 1024**2
#: Largest experiment / rig TOML file read, bytes.
MAX_TEXT_BYTES = 16 * MIB


def _describe(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_input_file(path: str | Path, what: str, *, max_bytes: int | None = None) -> Path:
    """Return ``path`` if it is an existing regular file of at most ``max_bytes``.

    Raises
    ------
    UserError
        Missing, not a regular file (directory, FIFO, device, socket) or too large.
    """
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise UserError(f"{p}: {what} not found") from None
    except (OSError, ValueError) as exc:
        raise UserError(f"{p}: cannot access the {what} ({exc.__class__.__name__})") from None
    if not stat.S_ISREG(st.st_mode):
        raise UserError(f"{p}: is {_describe(st.st_mode)}, expected a regular file ({what})")
    if max_bytes is not None and st.st_size > max_bytes:
        raise UserError(
            f"{p}: the {what} is {st.st_size / MIB:.1f} MiB; at most {max_bytes / MIB:g} MiB "
            "is read"
        )
    return p


def read_text_input(path: str | Path, what: str, *, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """Read a UTF-8 text input after :func:`check_input_file` (never more than ``max_bytes``)."""
    p = check_input_file(path, what, max_bytes=max_bytes)
    try:
        # O_NONBLOCK: should the file have been swapped for a FIFO since the check,
        # opening it does not wait for a writer
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise UserError(f"{p}: not a regular file ({what})")
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise UserError(f"{p}: cannot read the {what} ({exc.__class__.__name__})") from None
    if len(data) > max_bytes:
        raise UserError(f"{p}: the {what} is larger than {max_bytes / MIB:g} MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{p}: the {what} is not UTF-8 text") from None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def check_output_path(
    path: str | Path,
    *,
    inputs: Iterable[str | Path] = (),
    option: str = "-o",
    suffixes: tuple[str, ...] | None = None,
) -> Path:
    """Validate an output file path before any work: folder exists and takes files, not an input.

    Parameters
    ----------
    path : path
        The output file.
    inputs : paths
        The command's inputs; the output must be none of them.
    option : str
        How the user gave the path (for messages).
    suffixes : tuple of str, optional
        Allowed file suffixes (lower case, e.g. ``(".h5", ".hdf5", ".nxs")``).

    Raises
    ------
    UserError
        Folder missing or not writable, the path is a directory or special file, the
        path is one of ``inputs``, or a wrong suffix.
    """
    out = Path(path)
    if not str(path) or str(path).endswith(("/", os.sep)):
        raise UserError(f"{option} {path!r}: expected a file name")
    if suffixes is not None and out.suffix.lower() not in suffixes:
        raise UserError(f"{option} {out}: expected a file ending in {', '.join(suffixes)}")
    for source in inputs:
        src = Path(source)
        if src.resolve() == out.resolve() or (
                src.exists() and out.exists() and _same_file(src, out)):
            raise UserError(f"{option} {out}: is the input {src}; choose another output file "
                            "(inputs are never overwritten)")
    if out.exists() or out.is_symlink():
        try:
            mode = os.stat(out).st_mode
        except OSError as exc:
            raise UserError(f"{option} {out}: cannot access ({exc.__class__.__name__})") from None
        if not stat.S_ISREG(mode):
            raise UserError(f"{option} {out}: is {_describe(mode)}; expected a file to write")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise UserError(f"{option} {out}: folder {folder} does not exist")
    probe_folder(folder, f"{option} {out}")
    return out


def probe_folder(folder: Path, label: str) -> None:
    """Create and remove a temporary file in ``folder`` (pseudo file systems such as /proc,
    read-only mounts and missing permissions fail here, before any work)."""
    try:
        fd, name = tempfile.mkstemp(prefix=".mrfm-probe-", dir=folder)
    except OSError as exc:
        raise UserError(
            f"{label}: cannot write in folder {folder} ({exc.strerror or exc.__class__.__name__})"
        ) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)


def current_umask() -> int:
    """The process umask (read from /proc where possible: setting it is not thread-safe)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def apply_umask(path: str | Path) -> None:
    """Give ``path`` the mode a plain ``open(path, "w")`` would: ``0o666 & ~umask``."""
    os.chmod(path, 0o666 & ~current_umask())


@contextlib.contextmanager
def atomic_path(path: str | Path, *, option: str = "-o") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` when the block completes.

    On any exception (Ctrl-C included) the temporary file is removed and ``path`` is
    left as it was. The final file has the user's umask.

    Raises
    ------
    UserError
        The folder does not exist or cannot take a new file.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise UserError(f"{option} {target}: output folder {folder} does not exist")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise UserError(
            f"{option} {target}: cannot write in folder {folder} "
            f"({exc.strerror or exc.__class__.__name__})"
        ) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        apply_umask(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


__all__ = ["MAX_TEXT_BYTES", "apply_umask", "atomic_path", "check_input_file", "probe_folder",
           "check_output_path", "current_umask", "read_text_input"]
