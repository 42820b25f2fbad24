"""``mrfm plot FILE.h5 -o FIGURE.png``: a figure of any mrfm file, chosen by its kind."""

from __future__ import annotations

import argparse
import importlib
import sys

from mrfm.errors import UserError

#: file kind (``/entry@mrfm_kind``) -> plotting module with ``plot(path, out_png)``
PLOTTERS = {
    "signal_map": "mrfm.plotting.signal_map",
    "timeseries": "mrfm.plotting.timeseries",
    "scan": "mrfm.plotting.scan",
    "reconstruction": "mrfm.plotting.volume",
    "dataset_item": "mrfm.plotting.volume",
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot", help="plot an mrfm HDF5 file (png, pdf or svg)",
                       description="Plot a signal map, time series, scan or reconstruction; "
                                   "the format follows the output's extension.")
    p.add_argument("file", help="an HDF5 file written by mrfm")
    p.add_argument("-o", "--output", required=True,
                   help="figure to write: .png, .pdf or .svg")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mrfm.data.files import atomic_path, check_output_path
    from mrfm.data.nexus import FileFormatError, open_mrfm_file, read_kind, verify_file
    from mrfm.plotting.style import check_output

    out = check_output(args.output)
    if not out.parent.exists():
        raise UserError(f"-o {out}: folder {out.parent} does not exist")
    verify_file(args.file)  # intact mrfm file (bounded time), before any work
    check_output_path(out, inputs=[args.file])
    with open_mrfm_file(args.file) as fh:
        kind = read_kind(fh)
    try:
        module = importlib.import_module(PLOTTERS[kind])
    except ModuleNotFoundError:
        raise UserError(f"{args.file}: this mrfm cannot plot files of kind {kind!r}") from None
    # drawn to a temporary name with the same extension beside the output, then renamed
    with atomic_path(out) as tmp:
        figure = tmp.with_name(tmp.name + out.suffix)
        try:
            module.plot(args.file, figure)
            figure.replace(tmp)
        except UserError:
            raise
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            # an intact HDF5 file whose content does not fit its kind (missing or
            # mis-shaped datasets): a bad input, reported as such
            raise FileFormatError(f"{args.file}: content does not match an mrfm {kind} file "
                                  f"({exc.__class__.__name__}: {exc})") from None
        finally:
            figure.unlink(missing_ok=True)
    print(f"mrfm: wrote {out}", file=sys.stderr)
    return 0
