"""Small hand-built experiments for the solver tests, made of the package's real objects.

:func:`make_exp` builds an :class:`mrfm.config.Experiment` from :class:`mrfm.physics.Cantilever`,
:class:`~mrfm.physics.SphereMagnet`, :class:`~mrfm.physics.Sample`, :class:`~mrfm.physics.Stage`
and the config sections. The expected values of the tests come from independent numpy
oracles here: :func:`dipole_field` / :func:`dipole_gradient` (the point dipole outside a
uniformly magnetized sphere, written out directly, not through the package's numba kernel)
and :func:`curie_moment` (mu tanh(mu B / kB T) for I = 1/2).
Also: :func:`box_quad`, the quadrature truth for the box averages of the kernels.
"""

from __future__ import annotations

import numpy as np
from scipy import constants, integrate

from mrfm.config import Experiment
from mrfm.config.sections import RF, Protocol, ScanGrid
from mrfm.physics import Cantilever, Sample, SphereMagnet, SpinSpecies, Stage

PROTON = SpinSpecies.from_name("1H")
ELECTRON = SpinSpecies.from_name("electron")


def curie_moment(species: SpinSpecies, B, T):
    """Oracle: thermal mean moment of a spin-1/2, mu tanh(mu B / kB T), J/T."""
    assert species.spin == 0.5
    mu = constants.hbar * abs(species.gamma) / 2.0
    return mu * np.tanh(mu * np.asarray(B) / (constants.k * T))


def dipole_field(magnet: SphereMagnet, points):
    """Oracle: B (T) of the sphere outside it, a point dipole (R^3/3)(3 r (J.r)/r^5 - J/r^3)."""
    r = np.asarray(points, dtype=float) - magnet.center
    c = magnet.radius**3 / 3.0
    j = magnet.polarization
    rn = np.linalg.norm(r, axis=-1)[..., None]
    jr = (r @ j)[..., None]
    return c * (3.0 * r * jr / rn**5 - j / rn**3)


def dipole_gradient(magnet: SphereMagnet, points):
    """Oracle: dB_i/dx_j (T/m) of the sphere outside it, shape (..., 3, 3)."""
    r = np.asarray(points, dtype=float) - magnet.center
    c = magnet.radius**3 / 3.0
    j = magnet.polarization
    rn = np.linalg.norm(r, axis=-1)[..., None, None]
    jr = (r @ j)[..., None, None]
    eye = np.eye(3)
    xi = r[..., :, None]
    xj = r[..., None, :]
    return c * (3 * eye * jr / rn**5 + 3 * xi * j[None, :] / rn**5
                + 3 * j[:, None] * xj / rn**5 - 15 * xi * xj * jr / rn**7)


def slab_sample(*, nx=8, ny=8, nz=4, voxel=5e-9, density=5e28, species=PROTON, top=0.0):
    """A box of uniform density whose top face is at z = top; lateral centre at x = y = 0."""
    v = np.full(3, voxel)
    origin = np.array([-(nx - 1) / 2 * voxel, -(ny - 1) / 2 * voxel, top - voxel / 2])
    origin[2] = top - voxel / 2 - (nz - 1) * voxel
    rho = np.full((nx, ny, nz), density)
    return Sample(origin=origin, voxel=v, densities={species.name: rho})


def make_exp(*, protocol="CAI", polarization="curie", sample=None, magnet=None, B0=0.5,
             rf_frequency=None, B1=1e-4, fm_depth=2e-3, amplitude=0.0, x=(0.0,), y=(0.0,),
             heights=(20e-9,), k=1e-4, f0=5e3, T=4.0, high_field=False,
             cermit_mode="saturate", species=PROTON, resonance_offset=0.0,
             slice_profile="hard", adiabatic="ideal") -> Experiment:
    """Build an experiment; by default the RF resonates where |B| = B0 + 0.6 * Bz_max.

    The slice is hard and the inversion ideal by default (the model the reference
    implementation in ``tests/solver/reference.py`` and the closed forms assume); the
    fundamental weight and Landau-Zener efficiency have tests of their own.
    """
    magnet = magnet or SphereMagnet(radius=50e-9, polarization=np.array([0.0, 0.0, 1.8]))
    sample = sample or slab_sample(species=species)
    h0 = heights[0]
    if rf_frequency is None:
        bz_surface = dipole_field(magnet, np.array([0.0, 0.0, -(h0 + magnet.half_height)]))[2]
        b_res = B0 + 0.6 * bz_surface + resonance_offset
        rf_frequency = abs(species.gamma) * b_res / (2 * np.pi)
    return Experiment(
        name="test",
        cantilever=Cantilever(k=k, f0=f0, Q=1e4, T=T),
        amplitude=amplitude,
        stage=Stage(temperature=T),
        magnet=magnet,
        B0=B0,
        rf=RF(frequency=rf_frequency, B1=B1, fm_depth=fm_depth),
        sample=sample,
        protocol=Protocol(name=protocol, polarization=polarization, high_field=high_field,
                          cermit_mode=cermit_mode, slice_profile=slice_profile,
                          adiabatic=adiabatic),
        scan=ScanGrid(x=np.asarray(x, float), y=np.asarray(y, float),
                      height=np.asarray(heights, float)),
        source_text="name = 'test'\n",
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
