"""The few ``scipy.signal`` functions we use, without importing ``scipy.signal``.

``import scipy.signal`` alone costs about 48 MiB of resident memory over the rest of SciPy we
load (it imports scipy.stats, interpolate, spatial, optimize): a third of the agent's budget on
a Raspberry Pi (issue 13). These functions take SciPy's own steps around its own compiled
kernels, so their output is bit-identical to SciPy's; the tests compare them.
"""

from stetho_common.dsp._design import butter_bandpass_sos
from stetho_common.dsp._filtering import sosfilt, sosfilt_zi, sosfiltfilt
from stetho_common.dsp._peaks import find_peaks
from stetho_common.dsp._resample import resample_poly

__all__ = [
    "butter_bandpass_sos",
    "find_peaks",
    "resample_poly",
    "sosfilt",
    "sosfilt_zi",
    "sosfiltfilt",
]
