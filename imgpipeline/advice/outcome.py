"""From a list to the outcome: how many interviews a list brings and the chance it matches.

The interviews a list brings are a sum of independent yes/no draws, one per program, each with
its P(interview): a Poisson-binomial count, computed exactly (``interview_distribution``).
P(match | list) is the chance of matching given that many interviews, read from the published
contiguous-ranks curve (NRMP Charting Outcomes 2026: P(match) of non-US IMGs in IM by the number
of programs they ranked; none with no interview), averaged over that distribution. Its band
combines the programs' openness intervals (low / high chances) with the curve's own band.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

MEASURE = "contiguous_ranks"


@dataclass(frozen=True)
class RanksCurve:
    """P(match | k interviews) for k = 0..kmax (k >= kmax reads kmax), with its band."""

    p: np.ndarray
    low: np.ndarray
    high: np.ndarray
    as_of: str

    @property
    def kmax(self) -> int:
        return len(self.p) - 1

    @classmethod
    def from_curve(cls, curve: pd.DataFrame) -> RanksCurve:
        c = curve[curve["measure"] == MEASURE].sort_values("value")
        values = c["value"].astype(int).to_numpy()
        if len(values) == 0 or values[0] != 1 or not np.array_equal(values, np.arange(1, len(values) + 1)):
            raise ValueError("match_probability_curve: contiguous ranks must run 1, 2, ... without gaps")

        def arr(col: str) -> np.ndarray:
            v = pd.to_numeric(c[col], errors="coerce").astype(float).to_numpy()
            return np.concatenate([[0.0], np.nan_to_num(v, nan=np.nan)])

        p, low, high = arr("p_match"), arr("p_match_low"), arr("p_match_high")
        p = np.where(np.isnan(p), (low + high) / 2, p)
        as_of = str(c["charting_as_of"].iloc[0]) if "charting_as_of" in c else ""
        return cls(p, low, high, as_of)


class Prefixes:
    """The Poisson-binomial recursion over the columns of ``p`` (R rows x N programs, each row
    ranked), advanced only as far as asked (``at``) and kept after every prefix: the
    distribution of interviews K = 0..kmax (the last holds K >= kmax) after the first n
    programs of every row, for any n asked later without recomputing. Each step is the same
    products and sums per element whatever the other rows, so stacking rows changes no number."""

    def __init__(self, p: np.ndarray, kmax: int) -> None:
        p = np.atleast_2d(np.asarray(p, dtype=float))
        R, N = p.shape
        self.n_max = N
        q = np.ascontiguousarray(p.T)
        # Step j multiplies the distribution by P(interview) and by 1 - P(interview) at once:
        # each history slot holds [moved, distribution] (bins x rows), so one product fills both.
        self._qk = np.stack([q, 1.0 - q], axis=1)[:, :, None, :]
        self._hist = np.empty((N + 1, 2, kmax + 1, R))
        self._hist[0, 1] = 0.0
        self._hist[0, 1, 0] = 1.0
        self._done = 0

    def at(self, n: int) -> np.ndarray:
        """(R, kmax + 1): every row's distribution after its first ``n`` programs."""
        hist, a, mul, add = self._hist, self._done, np.multiply, np.add
        if n > a:
            steps = zip(
                hist[a + 1 : n + 1], hist[a:n, 1], self._qk[a:n],                 # slot j + 1, dist j, (q, 1 - q)
                hist[a + 1 : n + 1, 1, 1:], hist[a + 1 : n + 1, 0, :-1],          # dist bins 1..K, moved bins 0..K-1
                hist[a + 1 : n + 1, 1, -1], hist[a + 1 : n + 1, 0, -1], strict=True,  # the last bin, what moves into it
            )
            for slot, dist, qk, shifted, moved, last, over in steps:
                mul(dist, qk, slot)              # [moved, dist] = dist x q, dist x (1 - q)
                add(shifted, moved, shifted)     # one more interview
                add(last, over, last)            # the last bin holds K >= kmax
            self._done = n
        return hist[n, 1].T

    @property
    def rows(self) -> int:
        return self._hist.shape[3]


# advance(hist, p, a, n): fills hist[a + 1 .. n] (prefix x row x bin) from hist[a], one program
# of each row of p per step (``advice.compiled.advance``).
Advance = Callable[[np.ndarray, np.ndarray, int, int], None]
_advance: list[Advance] = []


def use_compiled(advance: Advance | None) -> None:
    """Advance every later recursion of this process with a compiled ``advance``
    (``CompiledPrefixes``), or with NumPy again (None). The numbers are the same to the last
    bit; a process serving many applicants (the web app: ``advice.compiled.install``) saves
    about 3 ms per recommendation, the command line never loads the compiler."""
    _advance[:] = [advance] if advance is not None else []


class CompiledPrefixes:
    """``Prefixes`` advanced by a compiled loop (``use_compiled``): each step is the batch
    kernel's ``step``, held to ``Prefixes``' products and sums to the last bit by the tests.
    The history is prefix x row x bin, so a row's distribution is contiguous."""

    def __init__(self, p: np.ndarray, kmax: int, advance: Advance) -> None:
        p = np.ascontiguousarray(np.atleast_2d(np.asarray(p, dtype=float)))
        R, N = p.shape
        self.n_max, self._p, self._step = N, p, advance
        self._hist = np.empty((N + 1, R, kmax + 1))
        self._hist[0] = 0.0
        self._hist[0, :, 0] = 1.0
        self._done = 0

    def at(self, n: int) -> np.ndarray:
        """(R, kmax + 1): every row's distribution after its first ``n`` programs."""
        if n > self._done:
            self._step(self._hist, self._p, self._done, n)
            self._done = n
        return self._hist[n]

    @property
    def rows(self) -> int:
        return self._hist.shape[1]


def prefixes(p: np.ndarray, kmax: int) -> Prefixes | CompiledPrefixes:
    """The recursion over the rows of ``p``: compiled when the process asked for it."""
    return CompiledPrefixes(p, kmax, _advance[0]) if _advance else Prefixes(p, kmax)


def interview_distribution(p: np.ndarray, kmax: int, at: np.ndarray | None = None) -> np.ndarray:
    """P(K = k) for k = 0..kmax (the last holds K >= kmax) after the first n programs of each
    row of ``p`` (G x N), for every n in ``at`` (default: N): an array (G, len(at), kmax + 1)."""
    pre = prefixes(p, kmax)
    at = np.array([pre.n_max] if at is None else at, dtype=int)
    return np.stack([pre.at(int(n)) for n in at], axis=1) if len(at) else np.empty((pre.rows, 0, kmax + 1))


def p_match(dist: np.ndarray, curve_p: np.ndarray) -> np.ndarray:
    """P(match) for interview distributions (..., kmax + 1) through one curve."""
    return dist @ curve_p


def _row_p_match(dist: np.ndarray, curve_p: np.ndarray) -> float:
    """``p_match`` of one contiguous distribution (1-D) as a float: the vectors' dot product,
    the same BLAS dot a 1-D matmul calls (the same float, tests/test_advice_outcome.py), without
    the matmul's per-call cost, paid dozens of times per recommendation."""
    return float(dist.dot(curve_p))


@dataclass(frozen=True)
class Outcome:
    """What a list of n programs brings: expected interviews (with interval), the
    distribution of interviews, and P(match | list) with its band."""

    n: int
    expected_interviews: float
    interviews_low: float
    interviews_high: float
    p_match: float
    p_match_low: float
    p_match_high: float
    p_no_interview: float
    distribution: np.ndarray

    def as_dict(self) -> dict[str, float]:
        return {
            "programs": self.n,
            "expected_interviews": round(self.expected_interviews, 2),
            "interviews_low": round(self.interviews_low, 2),
            "interviews_high": round(self.interviews_high, 2),
            "p_match": round(self.p_match, 3),
            "p_match_low": round(self.p_match_low, 3),
            "p_match_high": round(self.p_match_high, 3),
            "p_no_interview": round(self.p_no_interview, 3),
        }


def size_curve(p: np.ndarray, p_low: np.ndarray, p_high: np.ndarray, curve: RanksCurve, sizes: np.ndarray) -> list[Outcome]:
    """The outcome of the top-n of a ranked list for each n in ``sizes`` (each <= len(p)):
    expected interviews with the low / high chances, P(match) with the curve's band."""
    ranked = RankedList(np.vstack([p, p_low, p_high]), curve)
    return [ranked.outcome(0, int(n)) for n in np.asarray(sizes, dtype=int)]


class RankedList:
    """Ranked lists' chances (rows of three: P(interview), its low and its high end, for one
    list or several stacked) and the outcome of any top-n of one of them (``outcome``), the
    recursion advanced only as far as asked and shared by every row."""

    def __init__(self, p: np.ndarray, curve: RanksCurve) -> None:
        p = np.atleast_2d(np.asarray(p, dtype=float))
        self.curve = curve
        self.prefixes = prefixes(p, curve.kmax)
        self.cum = np.concatenate([np.zeros((len(p), 1)), np.cumsum(p, axis=1)], axis=1)

    def p_match(self, list_index: int, n: int) -> float:
        """``outcome(list_index, n).p_match`` alone."""
        return _row_p_match(np.ascontiguousarray(self.prefixes.at(n)[3 * list_index]), self.curve.p)

    def outcome(self, list_index: int, n: int) -> Outcome:
        """What the first ``n`` programs of list ``list_index`` (rows 3i..3i+2) bring."""
        r = 3 * list_index
        d = np.ascontiguousarray(self.prefixes.at(n)[r : r + 3])   # P(match) reads contiguous rows
        cum, c = self.cum[r : r + 3, n], self.curve
        return Outcome(
            n=int(n),
            expected_interviews=float(cum[0]),
            interviews_low=float(cum[1]),
            interviews_high=float(cum[2]),
            p_match=_row_p_match(d[0], c.p),
            p_match_low=_row_p_match(d[1], c.low),
            p_match_high=_row_p_match(d[2], c.high),
            p_no_interview=float(d[0, 0]),
            distribution=d[0],
        )
