"""The ``mrfm`` command line: subcommand dispatch and the exit-code contract.

Exit codes (API.md): 0 success; 2 bad input (one readable line on stderr, no
traceback); 3 instrument fault (the scan stopped safely, data kept); 1 anything
unexpected (a short message and the path of a log file holding the traceback).
Each subcommand lives in ``mrfm/cli/<name>_cmd.py`` and provides
``add_parser(subparsers)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import _thread
import argparse
import gc
import importlib
import os
import signal
import sys
import tempfile
import threading
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path

import mrfm
from mrfm.errors import UserError

#: subcommand modules, in the order ``mrfm --help`` lists them
SUBCOMMAND_MODULES = (
    "info",
    "simulate",
    "timeseries",
    "rig",
    "scan",
    "monitor",
    "dataset",
    "reconstruct",
    "plot",
    "demo",
)


class UsageError(UserError):
    """Bad command-line usage (unknown option, missing argument)."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises UsageError (one line, exit 2) instead of printing usage."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


class _VersionAction(argparse.Action):
    """``--version``: prints ``mrfm VERSION`` and exits 0; the version is looked up only
    then (``importlib.metadata`` is not imported at every start)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="print the installed version and exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        print(f"mrfm {mrfm.__version__}")
        parser.exit()


def _load_subcommands() -> list[object]:
    return [importlib.import_module(f"mrfm.cli.{name}_cmd") for name in SUBCOMMAND_MODULES]


def build_parser() -> argparse.ArgumentParser:
    """The full ``mrfm`` argument parser."""
    parser = _Parser(
        prog="mrfm",
        description="Magnetic resonance force microscopy: simulate signals, control a rig, "
        "generate synthetic scans and reconstruct them.",
    )
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in _load_subcommands():
        module.add_parser(sub)
    return parser


def log_dir() -> Path:
    """Folder of the tracebacks of unexpected errors: ``MRFM_LOG_DIR``, else the per-user
    ``$XDG_STATE_HOME/mrfm/logs`` (default ``~/.local/state/mrfm/logs``), mode 0700."""
    env = os.environ.get("MRFM_LOG_DIR")
    if env:
        return Path(env)
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "mrfm" / "logs"


def _log_unexpected(exc: BaseException) -> str:
    """Write the traceback to a new file in :func:`log_dir`; returns where (or why not)."""
    folder = log_dir()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="mrfm-error-", suffix=".log", dir=folder)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"mrfm {mrfm.__version__}\nargv: {sys.argv!r}\n\n")
            fh.write("".join(traceback.format_exception(exc)))
    except OSError as err:
        return (f"no traceback log: cannot write in {folder} "
                f"({err.strerror or err.__class__.__name__}); set MRFM_LOG_DIR")
    return f"traceback in {name}"


#: longest error line printed; a longer message keeps its start (field, value) and its end
#: (what is allowed), the middle (typically a hostile value) is elided
MAX_MESSAGE_CHARS = 400


def _one_line(message: str) -> str:
    text = " ".join(str(message).split())
    if len(text) > MAX_MESSAGE_CHARS:
        text = f"{text[:280]} [... {len(text) - 380} characters ...] {text[-100:]}"
    return text


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings reach users as one readable line, without source lines."""
    print(f"mrfm: warning: {_one_line(message)}", file=sys.stderr)


#: the one line printed after Ctrl-C / SIGINT (exit 130)
INTERRUPTED = "mrfm: interrupted (finished work is kept)"


class _InterruptWatch:
    """Remembers a SIGINT while a command runs, and silences the "Exception ignored"
    report of a KeyboardInterrupt that hit a C callback (numba/llvmlite compiling), so
    Ctrl-C anywhere ends in one line and exit 130. A KeyboardInterrupt that a callback
    swallowed is delivered again, so it is raised in the Python code that runs next:
    otherwise the command went on to the end of its work (minutes) after Ctrl-C. Only in
    the main thread; restores the previous handlers on exit."""

    def __init__(self) -> None:
        self.seen = False
        self._active = False
        self._previous_handler = None
        self._previous_hook = None

    def _on_sigint(self, signum, frame) -> None:  # noqa: ARG002 - signal handler signature
        self.seen = True
        raise KeyboardInterrupt

    def _unraisable(self, unraisable) -> None:
        try:
            if self.seen and isinstance(unraisable.exc_value, KeyboardInterrupt):
                if self._previous_handler is not None:  # our handler is installed
                    # not now (the handler would raise inside this hook): 10 ms later, in
                    # the main thread, wherever it then is (again in a callback: again here)
                    self._arm()
                return
        except KeyboardInterrupt:
            # the previous redelivery landed in this hook (a loaded machine held the main
            # thread here past 10 ms), where Python ignores it: deliver it once more. Only
            # one redelivery is ever in flight (each comes from one swallowed interrupt)
            self._arm()
            return
        self._previous_hook(unraisable)

    def _arm(self) -> None:
        timer = threading.Timer(0.01, self._redeliver)
        timer.daemon = True
        timer.start()

    def _redeliver(self) -> None:
        if self._active:
            _thread.interrupt_main(signal.SIGINT)

    def __enter__(self) -> _InterruptWatch:
        self._active = True
        if threading.current_thread() is threading.main_thread():
            self._previous_handler = signal.signal(signal.SIGINT, self._on_sigint)
        self._previous_hook = sys.unraisablehook
        sys.unraisablehook = self._unraisable
        return self

    def __exit__(self, *exc: object) -> None:
        self._active = False
        if self._previous_handler is not None:
            signal.signal(signal.SIGINT, self._previous_handler)
        sys.unraisablehook = self._previous_hook


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (also used as the console script).

    With ``--json`` among the arguments an error is also reported on stdout as one JSON
    object ``{"error": "...", "exit_code": N}`` (API.md), beside the line on stderr.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    code = _run(args)
    if argv is None:
        _before_exit()
    return code


def _before_exit() -> None:
    """Let the process that ran the command exit without collecting its whole heap.

    Called only when :func:`main` is the program (no ``argv``): its work is done, its
    files closed, and ``atexit`` handlers still run. CPython's shutdown then collects the
    whole heap three times; with numba's typing registries loaded (~130,000 tracked
    objects) that took 0.27 s on this machine (``gc.DEBUG_STATS``: 0.06, 0.08, 0.14 s), a
    quarter of ``mrfm info``. :func:`gc.freeze` moves every tracked object to the permanent
    generation, which those collections skip; objects freed by reference counting are
    still finalized as usual, and what only a cycle holds is returned to the system with
    the process (docs/PERFORMANCE.md, "Command-line start-up").
    """
    gc.freeze()


def _run(args: list[str]) -> int:
    """Run the command line on ``args``; report an error line (and JSON); the exit code."""
    json_mode = "--json" in args
    with warnings.catch_warnings(), _InterruptWatch() as interrupt:
        warnings.showwarning = _show_warning
        code, message = _main(args)
        if interrupt.seen and code not in (0, 130):
            # Ctrl-C landed where Python could not raise it (inside a C callback, e.g.
            # numba compiling a kernel) and the code below failed for that reason
            code, message = 130, INTERRUPTED
    if message is not None:
        print(message, file=sys.stderr)
        if json_mode:
            from mrfm.cli.jsonout import print_json

            error = message.removeprefix("mrfm: ").removeprefix("error: ")
            print_json({"error": error, "exit_code": code})
    return code


def _main(argv: list[str]) -> tuple[int, str | None]:
    """Run; returns ``(exit code, error line or None)``."""
    from mrfm import resources
    from mrfm.errors import InstrumentFault

    resources.set_limit(None)  # --max-memory applies to one command only
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "command", None):
            parser.print_help(sys.stderr)
            return 2, None
        return int(args.func(args) or 0), None
    except UserError as exc:
        return 2, f"mrfm: error: {_one_line(exc)}"
    except InstrumentFault as exc:
        return 3, f"mrfm: instrument fault: {_one_line(exc)}"
    except KeyboardInterrupt:
        return 130, INTERRUPTED
    except SystemExit as exc:  # argparse --help / --version
        return (int(exc.code or 0) if isinstance(exc.code, int) else 0), None
    except BrokenPipeError:
        return 1, None
    except MemoryError:
        return 2, ("mrfm: error: out of memory: the job does not fit in the available memory; "
                   "use a coarser sample.voxel, fewer tip positions or a smaller grid")
    except RecursionError:
        return 2, "mrfm: error: input nested too deeply to be read"
    except Exception as exc:  # noqa: BLE001 - the contract: short message plus a log file
        where = _log_unexpected(exc)
        return 1, (f"mrfm: unexpected error: {exc.__class__.__name__}: "
                   f"{_one_line(exc)[:200]} ({where})")


if __name__ == "__main__":
    sys.exit(main())
