"""Layout of the time-domain chain's numba kernel (:mod:`.chain`): the random stream ids,
the indices of its parameter vector and state vector, and the spin-model codes; the
parameter vector itself is built by :mod:`.chain_setup`."""

from __future__ import annotations

import numpy as np

from mrfm.timedomain import noise
from mrfm.timedomain import pll as pll_mod

#: random stream ids
STREAM_INITIAL, STREAM_THERMAL, STREAM_SHOT, STREAM_SPIN = 0, 1, 2, 3


# parameter vector layout of the numba kernel
(P00, P01, P10, P11, K00, K01, K10, K11, C00, C01, C10, C11, G0, G1, L00, L10, L11,
 DGR0, DGI0, DGR1, DGI1, DRV_CPS, DRV_PHASE, DRV_AMP,
 SELF, C_DAMP, XPK, AGC_GAIN, AGC_A, OMEGA0, GMAX,
 OPT_P0, OPT_VIS, OPT_K4, OPT_PHASE, SHOT_SIGMA, DET_A, PD_GAIN,
 ADC_STEP, ADC_VMAX,
 LK_CPS, LK_PHASE, LK_A, LK_ORDER, LK_SENS,
 PLL_ON, PLL_DT, PLL_FC, PLL_KP, PLL_KI, PLL_A,
 SP_CARRIER, SGR0, SGI0, SGR1, SGI1, SP_CPS, SP_PHASE,
 TH_ON, SHOT_ON, SP_MODEL, SP_VALUE, SP_OU_A, SP_OU_B, SP_PFLIP, SP_DK_PER_HZ,
 ENV_ON, ENV_RATE, ENV_LOG_KEEP, ENV_INV_T1, WAVE_ON, DT, NPAR) = range(73)
# spin model codes of the kernel (index into SPIN_MODELS)
MODEL_NONE, MODEL_CAI, MODEL_CAI_STAT, MODEL_SHIFT, MODEL_TELEGRAPH = range(5)
# state vector layout: x, v, detector, amplitude loop, spin (OU value or telegraph sign),
# lock-in filter sections (4 in-phase, 4 quadrature), PLL
S_X, S_V, S_DET, S_AGC, S_SPIN, S_LK, S_PLL = 0, 1, 2, 3, 4, 5, 13
NSTATE = S_PLL + pll_mod.STATE_SIZE


def initial_normals(seed: int, count: int) -> np.ndarray:
    """``count`` standard normals of the initial-state stream (samples 0, 1, ...)."""
    return noise.normals(seed, STREAM_INITIAL, 0, (count + 1) // 2).reshape(-1)[:count]
