"""The outcome recursion compiled, for a process that advises many applicants one at a time
(the web app): ``outcome.Prefixes``' steps run by Numba instead of three NumPy calls per
program, about 3 ms of a recommendation's 15 ms of CPU. Each step is the batch kernel's
``kernel.step`` (the same products and sums, in the same order, to the last bit), so a
recommendation is the same whichever runs it.

Importing this module loads Numba (about a second, once per process): ``imgpipeline
recommend`` never does (``tests/test_light_imports.py``). ``install`` switches the process over
and compiles (or loads from Numba's cache, filled by ``make setup``) the one signature used.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from imgpipeline.advice import outcome
from imgpipeline.advice.kernel import step


@njit(cache=True, nogil=True)
def advance(hist: np.ndarray, p: np.ndarray, a: int, n: int) -> None:
    """Fill ``hist[a + 1 .. n]`` (prefix x row x bin) from ``hist[a]``: at step j every row r
    takes its program j, with chance ``p[r, j]`` (before it, only bins 0..j can hold mass)."""
    for j in range(a, n):
        for r in range(hist.shape[1]):
            d = hist[j + 1, r]
            d[:] = hist[j, r]
            step(d, p[r, j], j + 1)


def warm() -> None:
    """Compile ``advance`` for the types ``outcome.CompiledPrefixes`` passes (or load it from
    the cache), on a one-step history."""
    hist = np.zeros((2, 1, 2))
    hist[0, 0, 0] = 1.0
    advance(hist, np.zeros((1, 1)), 0, 1)


def install() -> None:
    """Run this process's later recursions compiled (``outcome.use_compiled``)."""
    warm()
    outcome.use_compiled(advance)


if __name__ == "__main__":
    warm()
