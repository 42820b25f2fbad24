"""Scans on a rig: :func:`run_scan` (the Python API behind ``mrfm scan``), scan plans, the
safe controller, the SWMR data store and the logbook of instrument settings."""

from mrfm.scan.run import ScanResult, run_scan

__all__ = ["ScanResult", "run_scan"]
