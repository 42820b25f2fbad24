"""`sample_top` (the highest z any spin reaches, used to place the tip) against the obvious
computation over every voxel."""

from __future__ import annotations

import numpy as np

from mrfm.physics.sample import Sample
from mrfm.solver import sample_top


def _by_every_voxel(sample: Sample) -> float:
    top = -np.inf
    for rho in sample.densities.values():
        k = np.nonzero(rho)[2]
        if k.size:
            top = max(top, sample.origin[2] + (k.max() + 0.5) * sample.voxel[2])
    for pts in sample.points.values():
        if len(pts):
            top = max(top, np.max(np.asarray(pts)[:, 2]))
    return top


def test_sample_top_equals_the_highest_occupied_voxel_face_or_point():
    rng = np.random.default_rng(7)
    for trial in range(40):
        shape = tuple(int(n) for n in rng.integers(1, 9, size=3))
        rho = np.where(rng.random(shape) < rng.random() * 0.2, 1e27, 0.0)
        points = rng.normal(size=(int(rng.integers(0, 3)), 3)) * 1e-8
        sample = Sample(densities={"1H": rho}, points={"1H": points} if len(points) else {},
                        origin=np.array([0.0, 0.0, -3e-8]), voxel=np.array([2e-9, 3e-9, 5e-9]))
        expected = _by_every_voxel(sample)
        assert sample_top(sample) == expected, (trial, shape)
