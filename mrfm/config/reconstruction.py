"""The ``[reconstruction]`` section: how ``mrfm reconstruct`` inverts a scan (read by
:mod:`mrfm.imaging.reconstruct`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mrfm.config.schema import parse_section, spec

METHODS = ("landweber", "fista", "richardson-lucy")
STOPPING = ("discrepancy", "fixed")
PSF_SOURCES = ("auto", "solver")


@dataclass(frozen=True)
class ReconstructionSettings:
    """``[reconstruction]`` section of the experiment file.

    Attributes
    ----------
    method : str
        ``fista`` (default: same fixed point as Landweber, far fewer iterations),
        ``landweber`` (as Degen 2009) or ``richardson-lucy``.
    stopping : str
        ``discrepancy`` (stop when the residual reaches ``tau * sigma * sqrt(M)``; needs
        the noise level) or ``fixed`` (exactly ``iterations``).
    iterations : int
        Iteration count for ``fixed``; the cap for ``discrepancy``.
    tau : float
        Safety factor of the discrepancy principle (>= 1).
    relaxation : float
        Landweber step as a multiple of ``1/||A||^2``, in (0, 2).
    noise_sigma : float or None
        Per-point noise standard deviation in the signal's SI unit; None: read from the
        file (dataset items store it) or, failing that, stop after ``iterations``.
    depth_voxels : int or None
        Voxel layers to reconstruct below the surface for a scan without an object grid;
        None: as many as tip heights.
    psf : str
        ``auto`` or ``solver``: both take the point-spread function from the solver (its
        only source; the former ``dipole`` choice is rejected when the file is read).
    subsample : int
        Accepted for older files and not used: the solver integrates each voxel itself
        (the former analytic kernel's sub-voxel points per axis).
    resolution_test : bool
        When the file holds a ground truth, also measure the two-point resolution.
    """

    method: str = field(default="fista", metadata=spec("choice", choices=METHODS))
    stopping: str = field(default="discrepancy", metadata=spec("choice", choices=STOPPING))
    iterations: int = field(default=300, metadata=spec("int", min=1, max=1_000_000))
    tau: float = field(default=1.0, metadata=spec("quantity", min=1.0, max=10.0))
    relaxation: float = field(
        default=1.0, metadata=spec("quantity", min=0.0, min_exclusive=True, max=1.99)
    )
    noise_sigma: float | None = field(default=None, metadata=spec("quantity", min=0.0))
    depth_voxels: int | None = field(default=None, metadata=spec("int", min=1, max=4096))
    psf: str = field(default="auto", metadata=spec("choice", choices=PSF_SOURCES))
    subsample: int = field(default=3, metadata=spec("int", min=1, max=9))
    resolution_test: bool = field(default=True, metadata=spec("bool"))

    @classmethod
    def from_config(cls, table: object, path: str = "reconstruction") -> ReconstructionSettings:
        """Validate the ``[reconstruction]`` table into settings."""
        return parse_section(cls, table, path)


__all__ = ["METHODS", "PSF_SOURCES", "STOPPING", "ReconstructionSettings"]
