"""Samples on voxel grids.

Analytic expectations
---------------------
* Slab / film: N = density * lx * ly * thickness exactly (edge voxels carry their exact
  overlap fraction), to rounding (1e-12).
* Sphere: N = density * 4/3 pi R^3; cylinder (e.g. tobacco mosaic virus, 18 nm diameter,
  300 nm long; Degen et al., PNAS 106, 1313 (2009)): N = density * pi R^2 L. The sub-sampled
  fractions alone must agree to < 1 %; the default normalization makes them exact.
* Grid convention: the top face of the top voxel layer of a body touching the surface is at
  z = 0; voxel [0, 0, 0] is centred at ``origin``.
"""

from __future__ import annotations

import dataclasses
import math

import h5py
import numpy as np
import pytest

from mrfm.physics import Sample, SpinSpecies


def test_slab_total_shape_and_surface():
    s = Sample.slab(size=(100e-9, 90e-9), thickness=23e-9, density=5e28, species="proton",
                    voxel=7e-9)
    assert s.shape == (15, 13, 4)  # ceil(100/7), ceil(90/7), ceil(23/7)
    assert list(s.densities) == ["1H"]
    assert s.spin_count("1H") == pytest.approx(5e28 * 100e-9 * 90e-9 * 23e-9, rel=1e-12)
    x, y, z = s.axes()
    assert z[-1] + 3.5e-9 == pytest.approx(0.0, abs=1e-20)  # top face on z = 0
    assert x.mean() == pytest.approx(0.0, abs=1e-20) and y.mean() == pytest.approx(0, abs=1e-20)
    (x0, x1), (y0, y1), (z0, z1) = s.bounds()
    assert (z0, z1) == pytest.approx((-28e-9, 0.0), abs=1e-20)
    assert x1 - x0 == pytest.approx(105e-9, rel=1e-12)
    # bottom layer is 2/7 full, interior layers full
    np.testing.assert_allclose(s.densities["1H"][7, 6, :], [5e28 * 2 / 7, 5e28, 5e28, 5e28],
                               rtol=1e-12)


def test_slab_whole_voxels_and_anisotropic_voxel():
    s = Sample.slab(size=(40e-9, 20e-9), thickness=10e-9, density=1e27, species="electron",
                    voxel=(5e-9, 4e-9, 2.5e-9))
    assert s.shape == (8, 5, 4)
    np.testing.assert_allclose(s.voxel, [5e-9, 4e-9, 2.5e-9])
    np.testing.assert_array_equal(s.densities["electron"], 1e27)
    assert s.total_spins() == pytest.approx(1e27 * 40e-9 * 20e-9 * 10e-9, rel=1e-12)


@pytest.mark.parametrize("radius, voxel", [(3e-9, 5e-9), (10e-9, 3e-9), (25e-9, 4e-9)])
def test_sphere_totals(radius, voxel):
    exact = 1e28 * 4 / 3 * math.pi * radius**3
    raw = Sample.sphere(radius=radius, density=1e28, species="19F", voxel=voxel,
                        normalize=False)
    assert raw.spin_count("19F") == pytest.approx(exact, rel=1e-2)
    s = Sample.sphere(radius=radius, density=1e28, species="19F", voxel=voxel)
    assert s.spin_count("19F") == pytest.approx(exact, rel=1e-12)
    rho = s.densities["19F"]
    assert rho.max() <= 1e28 * (1 + 1e-2)
    # symmetric under x -> -x and y -> -y, and in x <-> y
    np.testing.assert_allclose(rho, rho[::-1], rtol=1e-12)
    np.testing.assert_allclose(rho, rho.transpose(1, 0, 2), rtol=1e-12)
    (x0, x1), _, (z0, z1) = s.bounds()
    assert z1 == 0.0
    assert z0 <= -2 * radius and x0 <= -radius and x1 >= radius


def test_sphere_buried_and_off_centre():
    s = Sample.sphere(radius=10e-9, center=(20e-9, -5e-9, -33e-9), density=2e28, species="1H",
                      voxel=4e-9, normalize=False)
    assert s.spin_count("1H") == pytest.approx(2e28 * 4 / 3 * math.pi * 1e-24, rel=1e-2)
    (x0, x1), (y0, y1), (z0, z1) = s.bounds()
    assert z1 <= -20e-9 and z0 >= -48e-9
    # z layers keep top faces on multiples of the voxel edge
    z = s.axes()[2]
    np.testing.assert_allclose((z + 2e-9) / 4e-9, np.round((z + 2e-9) / 4e-9), atol=1e-9)
    assert 0.5 * (x0 + x1) == pytest.approx(20e-9, abs=1e-15)


def test_sphere_above_surface_raises():
    with pytest.raises(ValueError, match="above the surface"):
        Sample.sphere(radius=10e-9, center=(0, 0, -5e-9), density=1e28, species="1H",
                      voxel=2e-9)


@pytest.mark.parametrize("axis", ["x", "y"])
def test_cylinder_tmv(axis):
    # TMV: 18 nm diameter, 300 nm long, lying on the surface
    r, length, rho = 9e-9, 300e-9, 4e28
    exact = rho * math.pi * r**2 * length
    raw = Sample.cylinder(radius=r, length=length, axis=axis, density=rho, species="1H",
                          voxel=4e-9, normalize=False)
    assert raw.spin_count("1H") == pytest.approx(exact, rel=1e-2)
    s = Sample.cylinder(radius=r, length=length, axis=axis, density=rho, species="1H",
                        voxel=4e-9)
    assert s.spin_count("1H") == pytest.approx(exact, rel=1e-12)
    expected_shape = (75, 5, 5) if axis == "x" else (5, 75, 5)
    assert s.shape == expected_shape
    (x0, x1), (y0, y1), (z0, z1) = s.bounds()
    assert z1 == 0.0 and z0 == pytest.approx(-20e-9, abs=1e-20)
    along = (x0, x1) if axis == "x" else (y0, y1)
    assert along == pytest.approx((-150e-9, 150e-9), rel=1e-12)


def test_cylinder_axes_are_transposes():
    kw = dict(radius=7e-9, length=50e-9, density=1e28, species="13C", voxel=3e-9)
    sx = Sample.cylinder(axis="x", **kw)
    sy = Sample.cylinder(axis="y", **kw)
    np.testing.assert_allclose(sx.densities["13C"], sy.densities["13C"].transpose(1, 0, 2),
                               rtol=1e-14)
    with pytest.raises(ValueError, match="axis"):
        Sample.cylinder(axis="z", **kw)


def test_film_layers():
    s = Sample.film(layers=[(5e-9, 5e28, "1H"), (7e-9, 0.0, "1H"), (10e-9, 2e28, "19F"),
                            (3e-9, 1e28, "proton")],
                    size=(30e-9, 30e-9), voxel=4e-9)
    area = 30e-9 * 30e-9
    assert s.shape[2] == 7  # 25 nm total -> 7 layers of 4 nm
    assert s.spin_count("1H") == pytest.approx(area * (5e-9 * 5e28 + 3e-9 * 1e28), rel=1e-12)
    assert s.spin_count("19F") == pytest.approx(area * 10e-9 * 2e28, rel=1e-12)
    # the first 4 nm layer is all 1H at 5e28; the 19F layer starts at z = -12 nm
    np.testing.assert_allclose(s.densities["1H"][3, 3, -1], 5e28, rtol=1e-12)
    np.testing.assert_allclose(s.densities["19F"][3, 3, -3], 0.0, atol=0)  # -12 .. -8 nm
    assert [sp.name for sp in s.species] == ["1H", "19F"]
    assert all(isinstance(sp, SpinSpecies) for sp in s.species)


def test_from_points():
    s = Sample.from_points(positions=[0.0, 0.0, -20e-9], species="e")
    assert s.shape == (0, 0, 0)
    assert s.spin_count("electron") == 1.0
    assert s.bounds() == ((0.0, 0.0), (0.0, 0.0), (-20e-9, -20e-9))
    with pytest.raises(ValueError, match="above the surface"):
        Sample.from_points(positions=[[0, 0, -1e-9], [0, 0, 1e-9]], species="e")


def test_from_array_default_origin_and_files(tmp_path):
    rho = np.zeros((4, 3, 2))
    rho[1, 1, 1] = 3e28
    s = Sample.from_array(rho, voxel=2e-9, species="1H")
    x, y, z = s.axes()
    assert z[-1] == pytest.approx(-1e-9, rel=1e-12)
    assert x.mean() == pytest.approx(0.0, abs=1e-20)
    assert s.spin_count("1H") == pytest.approx(3e28 * 8e-27, rel=1e-12)
    np.save(tmp_path / "rho.npy", rho)
    s2 = Sample.from_array(str(tmp_path / "rho.npy"), voxel=2e-9, species="1H",
                           origin=(0, 0, -5e-9))
    np.testing.assert_array_equal(s2.densities["1H"], rho)
    np.testing.assert_allclose(s2.origin, [0, 0, -5e-9])
    with h5py.File(tmp_path / "rho.h5", "w") as h5:
        h5.create_dataset("maps/density", data=rho)
    s3 = Sample.from_array(f"{tmp_path / 'rho.h5'}::/maps/density", voxel=2e-9, species="1H")
    np.testing.assert_array_equal(s3.densities["1H"], rho)
    with pytest.raises(ValueError, match="no dataset"):
        Sample.from_array(f"{tmp_path / 'rho.h5'}::/nope", voxel=2e-9, species="1H")
    with pytest.raises(FileNotFoundError):
        Sample.from_array(str(tmp_path / "missing.npy"), voxel=2e-9, species="1H")


@pytest.mark.parametrize(
    "bad, message",
    [(np.nan, "NaN"), (np.inf, "infinite"), (-1.0, "negative")],
)
def test_bad_densities_raise(bad, message):
    rho = np.ones((2, 2, 2))
    rho[0, 1, 0] = bad
    with pytest.raises(ValueError, match=message):
        Sample.from_array(rho, voxel=1e-9, species="1H")
    with pytest.raises(ValueError, match=message):
        Sample.slab(size=(1e-8, 1e-8), thickness=1e-8, density=bad, species="1H", voxel=1e-9)


def test_other_bad_input_raises():
    with pytest.raises(ValueError, match="3-D"):
        Sample.from_array(np.ones((3, 3)), voxel=1e-9, species="1H")
    with pytest.raises(ValueError, match="voxel"):
        Sample.slab(size=(1e-8, 1e-8), thickness=1e-8, density=1, species="1H", voxel=0.0)
    with pytest.raises(ValueError, match="unknown spin species"):
        Sample.slab(size=(1e-8, 1e-8), thickness=1e-8, density=1, species="Xe", voxel=1e-9)
    with pytest.raises(ValueError, match="thickness"):
        Sample.slab(size=(1e-8, 1e-8), thickness=-1e-8, density=1, species="1H", voxel=1e-9)
    with pytest.raises(ValueError, match="share one grid"):
        Sample(origin=np.zeros(3), voxel=1e-9,
               densities={"1H": np.ones((2, 2, 2)), "19F": np.ones((2, 2, 3))})
    with pytest.raises(ValueError, match="no spins"):
        Sample(origin=np.zeros(3), voxel=1e-9).bounds()


def test_replace_merges_species_like_the_config():
    kw = dict(size=(20e-9, 20e-9), thickness=10e-9, voxel=5e-9)
    a = Sample.slab(density=1e28, species="1H", **kw)
    b = Sample.slab(density=2e28, species="19F", **kw)
    merged = dataclasses.replace(a, densities={**a.densities, **b.densities})
    assert merged.shape == a.shape
    assert merged.total_spins() == pytest.approx(3e28 * 4e-24, rel=1e-12)
    assert [sp.name for sp in merged.species] == ["1H", "19F"]
