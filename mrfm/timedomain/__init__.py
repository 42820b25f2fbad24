"""Time-domain signal simulator: Langevin cantilever, spin dynamics, optical readout,
ADC, lock-in amplifier and PLL, streamed to HDF5 (``mrfm timeseries``).

Modules: :mod:`.oscillator` (exact discretization), :mod:`.spins` (protocol
magnetization), :mod:`.interferometer`, :mod:`.adc`, :mod:`.lockin`, :mod:`.pll`,
:mod:`.parameters` and :mod:`.chain` (the sample-by-sample chain; its kernel's layout
:mod:`.chain_layout` and numbers :mod:`.chain_setup`; the CAI waveform's harmonics
:mod:`.waveform`, from the solver :mod:`.slice_waveform`), :mod:`.stream` (chunked HDF5),
:mod:`.settings` (the ``[timeseries]`` section), :mod:`.experiment`; :mod:`.envelope` is the
rotating-frame reduction of the cantilever and lock-in (exact between any two times), the
engine of the virtual rig's lock-in, tested against the chain.
"""

from mrfm.kernel_cache import refresh_kernel_cache
from mrfm.timedomain.chain import ChainParameters, ChainSimulator
from mrfm.timedomain.oscillator import discretize, lorentzian_psd, simulate_oscillator
from mrfm.timedomain.settings import TimeseriesSettings
from mrfm.timedomain.stream import read_timeseries, write_timeseries

refresh_kernel_cache()  # numba cache files older than the kernels' sources go

__all__ = [
    "ChainParameters",
    "ChainSimulator",
    "TimeseriesSettings",
    "discretize",
    "lorentzian_psd",
    "read_timeseries",
    "simulate_oscillator",
    "write_timeseries",
]
