"""From a list to the outcome: how many interviews a list brings and the chance it matches.

The interviews a list brings are a sum of independent yes/no draws, one per program, each with
its P(interview): a Poisson-binomial count, computed exactly (``interview_distribution``).
P(match | list) is the chance of matching given that many interviews, read from the published
contiguous-ranks curve (NRMP Charting Outcomes 2026: P(match) of non-US IMGs in IM by the number
of programs they ranked; none with no interview), averaged over that distribution. Its band
combines the programs' openness intervals (low / high chances) with the curve's own band.
"""

from __future__ import annotations

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


def interview_distribution(p: np.ndarray, kmax: int, at: np.ndarray | None = None) -> np.ndarray:
    """P(K = k) for k = 0..kmax (the last holds K >= kmax) after the first n programs of each
    row of ``p`` (G x N), for every n in ``at`` (default: N): an array (G, len(at), kmax + 1)."""
    p = np.atleast_2d(np.asarray(p, dtype=float))
    G, N = p.shape
    at = np.array([N] if at is None else at, dtype=int)
    dist = np.zeros((G, kmax + 1))
    dist[:, 0] = 1.0
    out = np.empty((G, len(at), kmax + 1))
    stops = {n: i for i, n in enumerate(at)}
    if 0 in stops:
        out[:, stops[0]] = dist
    for j in range(N):
        q = p[:, j : j + 1]
        moved = dist * q
        dist = dist * (1.0 - q)
        dist[:, 1:] += moved[:, :-1]
        dist[:, -1] += moved[:, -1]
        if j + 1 in stops:
            out[:, stops[j + 1]] = dist
    return out


def p_match(dist: np.ndarray, curve_p: np.ndarray) -> np.ndarray:
    """P(match) for interview distributions (..., kmax + 1) through one curve."""
    return dist @ curve_p


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
    sizes = np.asarray(sizes, dtype=int)
    stacked = np.vstack([p, p_low, p_high])
    dist = interview_distribution(stacked, curve.kmax, sizes)
    cum = np.concatenate([[0.0], np.cumsum(p)]), np.concatenate([[0.0], np.cumsum(p_low)]), np.concatenate([[0.0], np.cumsum(p_high)])
    out = []
    for i, n in enumerate(sizes):
        out.append(Outcome(
            n=int(n),
            expected_interviews=float(cum[0][n]),
            interviews_low=float(cum[1][n]),
            interviews_high=float(cum[2][n]),
            p_match=float(p_match(dist[0, i], curve.p)),
            p_match_low=float(p_match(dist[1, i], curve.low)),
            p_match_high=float(p_match(dist[2, i], curve.high)),
            p_no_interview=float(dist[0, i, 0]),
            distribution=dist[0, i],
        ))
    return out
