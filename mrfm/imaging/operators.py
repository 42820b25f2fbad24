"""Shift-invariant MRFM forward operator as an FFT convolution, and its adjoint.

For a tip scanned on a regular grid aligned with the sample's voxel grid, the
signal is a discrete convolution of the spin density with a point-spread
function (PHYSICS.md "Signal as a convolution")::

    d[i] = sum_a rho[a] * g[a - i]          i over the data grid (M per axis),
                                           a over the object grid (N per axis)

where ``g[m]`` is the signal of a unit spin density in one voxel whose index
offset from the tip's reference voxel is ``m`` (``m`` from ``-(M-1)`` to
``N-1`` per axis). The kernel array therefore has ``N + M - 1`` entries per
axis, stored with offset ``m`` at index ``m + M - 1``. A circular FFT of length
``L >= N + M - 1`` computes this linear correlation exactly (no wrap-around).

The adjoint ``A^T`` is the matching correlation, so ``<A x, y> = <x, A^T y>``
holds to rounding (tested).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.fft as sfft


def kernel_shape(object_shape: Sequence[int], data_shape: Sequence[int]) -> tuple[int, ...]:
    """Shape of the kernel array ``g`` for the given object and data grids: ``N + M - 1``."""
    return tuple(int(n) + int(m) - 1 for n, m in zip(object_shape, data_shape, strict=True))


class ConvolutionOperator:
    """The linear map from spin density (object grid) to signal (data grid), via FFT.

    Parameters
    ----------
    kernel : ndarray, shape (N0+M0-1, N1+M1-1, N2+M2-1)
        Point-spread function ``g`` per unit spin density (signal unit per m^-3), with
        offset ``m = a - i`` stored at index ``m + M - 1`` (see the module docstring).
    object_shape : tuple of int
        Object (density) grid shape ``N``.
    data_shape : tuple of int
        Data (tip position) grid shape ``M``.
    workers : int
        Threads for scipy.fft.

    Notes
    -----
    Forward and adjoint each cost one real FFT and one inverse real FFT of the padded size
    ``L = next_fast_len(N + M - 1)`` per axis.
    """

    def __init__(
        self,
        kernel: np.ndarray,
        *,
        object_shape: Sequence[int],
        data_shape: Sequence[int],
        workers: int = 1,
    ) -> None:
        kernel = np.asarray(kernel, dtype=np.float64)
        self.object_shape = tuple(int(n) for n in object_shape)
        self.data_shape = tuple(int(m) for m in data_shape)
        if kernel.ndim != len(self.object_shape) or len(self.data_shape) != kernel.ndim:
            raise ValueError(
                f"kernel has {kernel.ndim} dimensions, object grid {len(self.object_shape)}, "
                f"data grid {len(self.data_shape)}; they must agree"
            )
        expected = kernel_shape(self.object_shape, self.data_shape)
        if kernel.shape != expected:
            raise ValueError(
                f"kernel shape {kernel.shape} does not match object {self.object_shape} and "
                f"data {self.data_shape} grids (expected N + M - 1 = {expected})"
            )
        if not np.all(np.isfinite(kernel)):
            raise ValueError("kernel contains NaN or infinite values")
        self.workers = int(workers)
        self.nonnegative = bool(np.min(kernel) >= 0.0)
        self.fft_shape = tuple(sfft.next_fast_len(n, real=True) for n in expected)
        # h[j] = g[-j] placed circularly: the forward map is then the circular convolution
        # d = rho (*) h restricted to i in [0, M).
        h = np.zeros(self.fft_shape)
        src = kernel[tuple(slice(None, None, -1) for _ in expected)]  # index k' = (N-1) - m
        # After the flip, offset -m sits at index (m + M - 1) reversed = (N - 1) - m.
        # Place value g[m] at circular position j = -m  =>  roll the flipped array by -(N-1).
        h[tuple(slice(0, n) for n in expected)] = src
        h = np.roll(h, shift=tuple(-(n - 1) for n in self.object_shape), axis=range(h.ndim))
        self._H = sfft.rfftn(h, workers=self.workers)
        self._Hc = np.conj(self._H)
        self._obj_slices = tuple(slice(0, n) for n in self.object_shape)
        self._data_slices = tuple(slice(0, m) for m in self.data_shape)
        self._pad = np.zeros(self.fft_shape)

    @property
    def lipschitz(self) -> float:
        """Upper bound of ``||A||^2`` (the largest |H|^2 of the padded transfer function)."""
        return float(np.max(np.abs(self._H)) ** 2)

    def _apply(self, x: np.ndarray, transfer: np.ndarray, in_slices: tuple,
               out_slices: tuple) -> np.ndarray:
        pad = self._pad
        pad.fill(0.0)
        pad[in_slices] = x
        spec = sfft.rfftn(pad, workers=self.workers, overwrite_x=False)
        spec *= transfer
        full = sfft.irfftn(spec, s=self.fft_shape, workers=self.workers, overwrite_x=True)
        return np.ascontiguousarray(full[out_slices])

    def forward(self, density: np.ndarray) -> np.ndarray:
        """Signal on the data grid for ``density`` on the object grid (shape ``N`` -> ``M``)."""
        density = np.asarray(density, dtype=np.float64)
        if density.shape != self.object_shape:
            raise ValueError(f"density shape {density.shape} != object grid {self.object_shape}")
        return self._apply(density, self._H, self._obj_slices, self._data_slices)

    def adjoint(self, data: np.ndarray) -> np.ndarray:
        """Adjoint map ``A^T`` from the data grid to the object grid (shape ``M`` -> ``N``)."""
        data = np.asarray(data, dtype=np.float64)
        if data.shape != self.data_shape:
            raise ValueError(f"data shape {data.shape} != data grid {self.data_shape}")
        return self._apply(data, self._Hc, self._data_slices, self._obj_slices)

    __call__ = forward


def direct_forward(
    kernel: np.ndarray, density: np.ndarray, data_shape: Sequence[int]
) -> np.ndarray:
    """Reference implementation of ``d[i] = sum_a rho[a] g[a - i]`` by explicit summation.

    Slow (O(N M)); used in tests as the independent second algorithm.
    """
    density = np.asarray(density, dtype=np.float64)
    data_shape = tuple(int(m) for m in data_shape)
    out = np.zeros(data_shape)
    for i in np.ndindex(*data_shape):
        # g[a - i] for all a: offsets a - i + (M - 1) index into kernel
        sl = tuple(
            slice(m - 1 - ii, m - 1 - ii + n)
            for ii, m, n in zip(i, data_shape, density.shape, strict=True)
        )
        out[i] = float(np.sum(density * kernel[sl]))
    return out
