"""Small hand-built experiments for the solver tests (plain dataclasses, SI units).

They follow the contracts of mrfm.physics / mrfm.config so the solver sees the same
attributes as with real objects; the magnet is a sphere (a point dipole outside).
Also: :func:`box_quad`, the quadrature truth for the box averages of the kernels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import constants, integrate

from mrfm.config.sections import RF, Protocol, ScanGrid


@dataclass(frozen=True)
class Species:
    """Spin species: gamma in rad/(s T) (signed), spin I."""

    name: str
    gamma: float
    spin: float = 0.5

    @property
    def moment(self) -> float:
        return constants.hbar * abs(self.gamma) * self.spin

    def mean_moment(self, B, T):
        """Curie moment for I = 1/2: mu tanh(mu B / kT)."""
        mu = self.moment
        return mu * np.tanh(mu * np.asarray(B) / (constants.k * T))

    def statistical_moment_variance(self, n_spins):
        return n_spins * (constants.hbar * self.gamma / 2.0) ** 2


PROTON = Species("1H", constants.physical_constants["proton gyromag. ratio"][0])
ELECTRON = Species("electron", -constants.physical_constants["electron gyromag. ratio"][0])


@dataclass(frozen=True)
class Sphere:
    """Sphere magnet: outside its field is exactly that of a point dipole m = J V / mu0."""

    radius: float
    polarization: np.ndarray

    shape_id = 0

    @property
    def params(self) -> np.ndarray:
        return np.array([self.radius, 0.0, 0.0])

    @property
    def half_height(self) -> float:
        return self.radius

    def field(self, points):
        r = np.asarray(points, dtype=float)
        c = self.radius**3 / 3.0
        rn = np.linalg.norm(r, axis=-1)[..., None]
        jr = (r @ self.polarization)[..., None]
        return c * (3.0 * r * jr / rn**5 - self.polarization / rn**3)

    def gradient(self, points):
        r = np.asarray(points, dtype=float)
        c = self.radius**3 / 3.0
        rn = np.linalg.norm(r, axis=-1)[..., None, None]
        jr = (r @ self.polarization)[..., None, None]
        eye = np.eye(3)
        j = self.polarization
        xi = r[..., :, None]
        xj = r[..., None, :]
        return c * (3 * eye * jr / rn**5 + 3 * xi * j[None, :] / rn**5
                    + 3 * j[:, None] * xj / rn**5 - 15 * xi * xj * jr / rn**7)


@dataclass(frozen=True)
class Cantilever:
    k: float
    f0: float
    Q: float
    T: float


@dataclass(frozen=True)
class Sample:
    origin: np.ndarray
    voxel: np.ndarray
    densities: dict = field(default_factory=dict)
    points: dict = field(default_factory=dict)
    species: list = field(default_factory=list)

    @property
    def shape(self):
        return next(iter(self.densities.values())).shape if self.densities else (0, 0, 0)


@dataclass(frozen=True)
class Exp:
    cantilever: Cantilever
    amplitude: float
    magnet: Sphere
    B0: float
    rf: RF
    sample: Sample
    protocol: Protocol
    scan: ScanGrid
    name: str = "test"
    source_text: str = "name = 'test'\n"


def slab_sample(*, nx=8, ny=8, nz=4, voxel=5e-9, density=5e28, species=PROTON, top=0.0):
    """A box of uniform density whose top face is at z = top; lateral centre at x = y = 0."""
    v = np.full(3, voxel)
    origin = np.array([-(nx - 1) / 2 * voxel, -(ny - 1) / 2 * voxel, top - voxel / 2])
    origin[2] = top - voxel / 2 - (nz - 1) * voxel
    rho = np.full((nx, ny, nz), density)
    return Sample(origin=origin, voxel=v, densities={species.name: rho}, species=[species])


def make_exp(*, protocol="CAI", polarization="curie", sample=None, magnet=None, B0=0.5,
             rf_frequency=None, B1=1e-4, fm_depth=2e-3, amplitude=0.0, x=(0.0,), y=(0.0,),
             heights=(20e-9,), k=1e-4, f0=5e3, T=4.0, high_field=False,
             cermit_mode="saturate", species=PROTON, resonance_offset=0.0):
    """Build an experiment; by default the RF resonates where |B| = B0 + 0.6 * Bz_max."""
    magnet = magnet or Sphere(radius=50e-9, polarization=np.array([0.0, 0.0, 1.8]))
    sample = sample or slab_sample(species=species)
    h0 = heights[0]
    if rf_frequency is None:
        bz_surface = magnet.field(np.array([0.0, 0.0, -(h0 + magnet.half_height)]))[2]
        b_res = B0 + 0.6 * bz_surface + resonance_offset
        rf_frequency = abs(species.gamma) * b_res / (2 * np.pi)
    return Exp(
        cantilever=Cantilever(k=k, f0=f0, Q=1e4, T=T),
        amplitude=amplitude,
        magnet=magnet,
        B0=B0,
        rf=RF(frequency=rf_frequency, B1=B1, fm_depth=fm_depth),
        sample=sample,
        protocol=Protocol(name=protocol, polarization=polarization, high_field=high_field,
                          cermit_mode=cermit_mode),
        scan=ScanGrid(x=np.asarray(x, float), y=np.asarray(y, float),
                      height=np.asarray(heights, float)),
    )


def box_quad(s0, g, a, lo, hi, along):
    """Box average, by quadrature, of a function of the linear offset s = s0 + g . u.

    The box has edges ``a`` and is centred at u = 0. Only lo <= s <= hi counts: along the
    third edge that is one interval of u2, and ``along(base, u_lo, u_hi)`` returns the
    integral over it (s = base + g[2] u2), in closed form; the first two edges are
    integrated by adaptive 2-D quadrature (scipy.integrate.dblquad). Needs g[2] != 0.
    """
    def line(u1, u0):
        base = s0 + g[0] * u0 + g[1] * u1
        t1 = (lo - base) / g[2]
        t2 = (hi - base) / g[2]
        u_lo = max(-a[2] / 2, min(t1, t2))
        u_hi = min(a[2] / 2, max(t1, t2))
        if u_hi <= u_lo:
            return 0.0
        return along(base, u_lo, u_hi)

    val, _ = integrate.dblquad(line, -a[0] / 2, a[0] / 2, -a[1] / 2, a[1] / 2,
                               epsabs=1e-10, epsrel=1e-8)
    return val / np.prod(a)
