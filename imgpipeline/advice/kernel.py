"""The batch core's compiled kernel: one applicant key at a time, everything its list needs.

For each key (a row of the applicant matrix) against every program (the columns of the program
matrices): the interview-chance model (``model.compute_terms``' terms, summed in the order of
``Terms.logit``), the exclusions and left-out rules (``lists.statuses``), the ranking (the
candidates by log-odds + the preferred-state bonus, ties to the lower program index: the order
of ``lists.ranking``, by a stable radix sort of the candidates), the size on the
contiguous-ranks curve (``outcome``'s Poisson-binomial recursion, advanced program by program,
P(match) read at the grid points ``lists.choose_size`` looks at) and the outcome of the chosen
list. Each step is the same products and sums, in the same order, as the NumPy code it stands
for (no fast-math: no reassociation, no fused multiply-adds), so the numbers are those of
``advice.recommend``; P(interview) itself goes through the C library's ``tanh``, which may
differ from NumPy's vectorised one in the last bit (about 1e-16).

Compiled by Numba on first use and cached beside the module (``cache=True``), the GIL released
while it runs (``nogil``: ``batch.score_chunk`` runs blocks of keys on threads). Only the batch
core imports this module; ``imgpipeline recommend`` never loads Numba.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from imgpipeline.tables.batch_applicants import SIZE_RULES

# Rows of the program float matrix (P columns).
(P_BASE, P_BONUS, P_S2W, P_S2MIN, P_S1MIN, P_YOG_OLDER, P_USCE_NEED, P_USCE_POL, P_VISA_NONE,
 P_VISA_J1, P_VISA_H1B, P_VISA_EITHER, P_H1B_YES, P_YOG_LIMIT, P_LOW, P_HIGH) = range(16)
N_PF = 16
# Rows of the program flag matrix: visa not sponsored (per need), the other exclusions.
(B_NO_NONE, B_NO_J1, B_NO_H1B, B_NO_EITHER, B_EXCL_FAIL, B_YOG_LIMITED, B_EXCL_IMGS, B_MILITARY) = range(8)
N_PB = 8
# The rows of the visa term and of "not sponsored" by visa need (``vocabulary.VISA_NEEDS``:
# none, J-1, H-1B, either; none reads a row of zeros / of no flags).
VISA_ROWS = (P_VISA_NONE, P_VISA_J1, P_VISA_H1B, P_VISA_EITHER)
NO_VISA_ROWS = (B_NO_NONE, B_NO_J1, B_NO_H1B, B_NO_EITHER)
# Rows of the applicant matrix (one column per key).
(A_S2, A_CK, A_S1, A_FAIL, A_OLDER, A_USCE, A_HANDS, A_LETTERS, A_RECENT, A_GAPS, A_YEARS,
 A_HAS_FAIL, A_SERVICE, A_VISA, A_STEP3, A_TIER, A_COVERS, A_PREF) = range(18)
N_AF = 18
# The scalars: coefficients and the rulebook's list rules.
(S_BELOW_CK, S_BELOW_S1, S_NEG_OVERLAP, S_LONG_SHOT, S_LONG_SHOT_LOGIT, S_PREFERRED, S_TARGET,
 S_MIN_GAIN, S_STEP, S_MIN_SIZE, S_MAX_SIZE, S_LIKELY, S_BAND_TARGET) = range(13)
N_S = 13
# Columns of the counts: excluded, R1 programme tier, R1 few IMGs, R2 not accepting, R4 long
# shots, candidates (also the status codes of ``left``: per risk tier and program, the first
# of R1 tier, R1 few IMGs, R2 that leaves it out, else C_CANDIDATES).
(C_EXCLUDED, C_AVOID_TIER, C_FEW_IMGS, C_NOT_ACCEPTING, C_LONG_SHOT, C_CANDIDATES) = range(6)
N_COUNTS = 6
REACHED, STOPPED, EVERY, BUDGET, NO_CANDIDATE = (SIZE_RULES.index(r) for r in ("reached_target", "stopped_rising", "every_candidate", "budget", "no_candidate"))
# The outcome's columns.
(O_EXPECTED, O_LOW, O_HIGH, O_P_MATCH, O_P_MATCH_LOW, O_P_MATCH_HIGH, O_P_NO_INTERVIEW) = range(7)
N_OUT = 7
# How close to the long-shot floor a log-odds must be for P(interview) itself to decide (far
# from it the log-odds decides: P moves by about 1e-9 there, rounding by about 1e-19).
NEAR_FLOOR = 1e-6


# exp(y) = 2^k exp(r), y = k ln 2 + r, |r| <= ln 2 / 2: ln 2 split in two (fdlibm's constants,
# k ln2_hi exact), exp(r) by its Taylor polynomial to degree 13 (remainder below 1e-17
# relative), 2^k from a table. A loop of these vectorises (no call into the C library).
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
INV_LN2 = 1.44269504088896338700e00
POW2 = np.ldexp(1.0, np.arange(-1022, 1024))      # 2^k, k = -1022..1023
EXP_LIMIT = 700.0                                    # |y| clipped: beyond, P is 1 to the last bit or below 1e-304


@njit(cache=True, nogil=True)
def sigmoid(x: float) -> float:
    """1 / (1 + exp(-x)): ``model.sigmoid`` (0.5 (1 + tanh(x / 2))) to within a few units in
    the last place (about 1e-16), computed without a library call."""
    y = min(max(-x, -EXP_LIMIT), EXP_LIMIT)
    k = math.floor(y * INV_LN2 + 0.5)
    r = (y - k * LN2_HI) - k * LN2_LO
    poly = 1.0 / 6227020800.0
    for inv_factorial in (1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0, 1.0 / 40320.0,
                          1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0):
        poly = poly * r + inv_factorial
    return 1.0 / (1.0 + poly * POW2[int(k) + 1022])


@njit(cache=True, nogil=True)
def sigmoid_range(x: np.ndarray, out: np.ndarray, lo: int, hi: int, ks: np.ndarray) -> None:
    """``sigmoid`` of ``x[lo:hi]`` into ``out[lo:hi]``, to the last bit (the same operations in
    the same order), in two loops that vectorise: the polynomial (its Horner steps written out)
    and the exponent k of each (``ks``, scratch of at least ``hi`` integers), then the table's
    2^k and the quotient (a gather in the first loop kept it scalar: about 6 ns an element
    instead of 16)."""
    for i in range(lo, hi):
        y = min(max(-x[i], -EXP_LIMIT), EXP_LIMIT)
        k = math.floor(y * INV_LN2 + 0.5)
        r = (y - k * LN2_HI) - k * LN2_LO
        poly = 1.0 / 6227020800.0
        poly = poly * r + 1.0 / 479001600.0
        poly = poly * r + 1.0 / 39916800.0
        poly = poly * r + 1.0 / 3628800.0
        poly = poly * r + 1.0 / 362880.0
        poly = poly * r + 1.0 / 40320.0
        poly = poly * r + 1.0 / 5040.0
        poly = poly * r + 1.0 / 720.0
        poly = poly * r + 1.0 / 120.0
        poly = poly * r + 1.0 / 24.0
        poly = poly * r + 1.0 / 6.0
        poly = poly * r + 0.5
        poly = poly * r + 1.0
        poly = poly * r + 1.0
        out[i] = poly
        ks[i] = np.int64(k) + 1022
    for i in range(lo, hi):
        out[i] = 1.0 / (1.0 + out[i] * POW2[ks[i]])


@njit(cache=True, nogil=True)
def sigmoids(x: np.ndarray, out: np.ndarray, n: int) -> None:
    """``sigmoid`` of the first n of ``x`` into ``out``."""
    sigmoid_range(x, out, 0, n, np.empty(n, dtype=np.int64))


@njit(cache=True, nogil=True)
def _neg(x: float) -> float:
    return x if x < 0.0 else 0.0


@njit(cache=True, nogil=True)
def _logit(pf: np.ndarray, s: np.ndarray, a: tuple, visa_row: int, h1b_extra: bool, j: int) -> float:
    """Key ``a`` (its applicant values, ``A_*``) x program j: the terms of ``compute_terms``
    summed in ``TERMS`` order (``Terms.logit``), the overlap of the screens as ``_overlap``."""
    yog = pf[P_YOG_OLDER, j] if a[A_OLDER] != 0.0 else 0.0
    policy = pf[P_USCE_POL, j] if a[A_HANDS] < pf[P_USCE_NEED, j] else 0.0
    below = s[S_BELOW_CK] * (1.0 if a[A_CK] < pf[P_S2MIN, j] else 0.0) + s[S_BELOW_S1] * (1.0 if a[A_S1] < pf[P_S1MIN, j] else 0.0)
    visa = pf[visa_row, j] + pf[P_H1B_YES, j] if h1b_extra else pf[visa_row, j]
    fail, usce, letters, recent, gaps = a[A_FAIL], a[A_USCE], a[A_LETTERS], a[A_RECENT], a[A_GAPS]
    n_fail, n_yog, n_usce, n_letters, n_recent, n_gaps = _neg(fail), _neg(yog), _neg(usce), _neg(letters), _neg(recent), _neg(gaps)
    total = n_fail + n_yog + n_usce + n_letters + n_recent + n_gaps
    least = min(min(min(n_fail, n_yog), min(n_usce, n_letters)), min(n_recent, n_gaps))
    lg = 0.0
    lg += pf[P_BASE, j]
    lg += pf[P_BONUS, j]
    lg += a[A_S2] * pf[P_S2W, j]
    lg += below
    lg += fail
    lg += yog
    lg += usce
    lg += policy
    lg += letters
    lg += recent
    lg += gaps
    lg += visa
    lg += s[S_NEG_OVERLAP] * (total - least)
    return lg


@njit(cache=True, nogil=True)
def applicant(af: np.ndarray, u: int) -> tuple:
    """Key u's values (``A_*``) as a tuple, read once for all programs."""
    return (
        af[0, u], af[1, u], af[2, u], af[3, u], af[4, u], af[5, u], af[6, u], af[7, u], af[8, u],
        af[9, u], af[10, u], af[11, u], af[12, u], af[13, u], af[14, u], af[15, u], af[16, u], af[17, u],
    )


@njit(cache=True, nogil=True)
def candidates(
    pf: np.ndarray, pb: np.ndarray, left: np.ndarray, af: np.ndarray, pref: np.ndarray, s: np.ndarray, u: int,
    lg: np.ndarray, hk: np.ndarray, hi: np.ndarray, counts: np.ndarray,
) -> int:
    """Every program's log-odds (``lg``) and status for key u (``lists.statuses``: a hard
    exclusion of ``model.exclusions``, else the tier's R1 / R2 code of ``left``, else a long
    shot or a candidate), counted into ``counts``; the candidates' ranking keys
    (``lists.ranking``) and program indices in ``hk`` / ``hi``; how many there are. Two
    loops without branches on the data (so they vectorise or at least never mispredict)."""
    a = applicant(af, u)
    need, tier, mask = int(a[A_VISA]), int(a[A_TIER]), int(a[A_PREF])
    visa_row, no_visa_row = VISA_ROWS[need], NO_VISA_ROWS[need]
    h1b_extra = need == 2 and a[A_STEP3] == 0.0
    has_fail, civilian, years, bonus = a[A_HAS_FAIL] != 0.0, a[A_SERVICE] == 0.0, a[A_YEARS], s[S_PREFERRED]
    low, high = s[S_LONG_SHOT_LOGIT] - NEAR_FLOOR, s[S_LONG_SHOT_LOGIT] + NEAR_FLOOR
    P = pf.shape[1]
    for j in range(P):
        lg[j] = _logit(pf, s, a, visa_row, h1b_extra, j)
    n = 0
    for j in range(P):
        x = lg[j]
        excluded = (
            pb[no_visa_row, j] | (has_fail & pb[B_EXCL_FAIL, j]) | ((years > pf[P_YOG_LIMIT, j]) & pb[B_YOG_LIMITED, j])
            | pb[B_EXCL_IMGS, j] | (civilian & pb[B_MILITARY, j])
        )
        code = C_EXCLUDED if excluded else left[tier, j]
        shot = x < low
        if code == C_CANDIDATES and not shot and x <= high:
            shot = sigmoid(x) < s[S_LONG_SHOT]      # near the floor: P itself decides
        code = C_LONG_SHOT if (code == C_CANDIDATES and shot) else code
        counts[code] += 1
        hk[n] = x + bonus * (1.0 if pref[mask, j] else 0.0)
        hi[n] = j
        n += code == C_CANDIDATES
    return n


@njit(cache=True, nogil=True)
def _radix_pass(shift: int, n: int, hist: np.ndarray, src_k: np.ndarray, src_i: np.ndarray, dst_k: np.ndarray, dst_i: np.ndarray) -> bool:
    """One stable counting pass on the byte at ``shift``; False (nothing moved) if every key
    has the same byte there. ``hist``: scratch of 512 counts: even and odd keys are counted
    apart (the keys' bytes are few, so one table's counts waited on each other), then summed."""
    even, odd = hist[:256], hist[256:512]
    even[:] = 0
    odd[:] = 0
    pairs = n - (n & 1)
    for i in range(0, pairs, 2):
        even[(src_k[i] >> shift) & 255] += 1
        odd[(src_k[i + 1] >> shift) & 255] += 1
    if n & 1:
        even[(src_k[n - 1] >> shift) & 255] += 1
    total = 0
    for digit in range(256):
        count = even[digit] + odd[digit]
        if count == n:
            return False
        even[digit], total = total, total + count
    for i in range(n):
        digit = (src_k[i] >> shift) & 255
        dst_k[even[digit]], dst_i[even[digit]] = src_k[i], src_i[i]
        even[digit] += 1
    return True


@njit(cache=True, nogil=True)
def rank(hk: np.ndarray, hi: np.ndarray, n: int, keys: np.ndarray, spare: np.ndarray, spare_i: np.ndarray, ranked: np.ndarray) -> None:
    """``ranked_into`` with its own count table."""
    ranked_into(hk, hi, n, keys, spare, spare_i, ranked, np.empty(512, dtype=np.int64))


@njit(cache=True, nogil=True)
def ranked_into(hk: np.ndarray, hi: np.ndarray, n: int, keys: np.ndarray, spare: np.ndarray, spare_i: np.ndarray, ranked: np.ndarray, hist: np.ndarray) -> None:
    """The n candidates (keys ``hk``, program indices ``hi``, in program order) in rank order
    into ``ranked``: higher key first, equal keys in program order, as ``lists.ranking``'s
    stable argsort. The keys' bits made unsigned-ordered (descending); a stable radix sort on
    their upper 24 bits (sign, exponent, 12 bits of mantissa), a byte at a time, least
    significant first; then each run sharing those bits (a few keys) put in order of the whole
    key by a stable insertion sort. ``hist``: scratch of 512 counts."""
    for i in range(n):
        hk[i] = hk[i] + 0.0                     # -0.0 as 0.0: equal keys, equal bits
    bits = hk.view(np.int64)
    for i in range(n):
        ascending = bits[i] if bits[i] >= 0 else bits[i] ^ 0x7FFFFFFFFFFFFFFF
        keys[i] = (~ascending) ^ (-0x7FFFFFFFFFFFFFFF - 1)
        ranked[i] = hi[i]
    src_k, src_i, dst_k, dst_i = keys, ranked, spare, spare_i
    swapped = False
    for shift in (40, 48, 56):
        if n and _radix_pass(shift, n, hist, src_k, src_i, dst_k, dst_i):
            src_k, src_i, dst_k, dst_i = dst_k, dst_i, src_k, src_i
            swapped = not swapped
    start = 0
    for i in range(1, n + 1):
        if i == n or (src_k[i] >> 40) != (src_k[start] >> 40):
            for m in range(start + 1, i):       # signed order of key ^ MIN = unsigned order of key
                k, j, at = src_k[m], src_i[m], m
                while at > start and (src_k[at - 1] ^ (-0x7FFFFFFFFFFFFFFF - 1)) > (k ^ (-0x7FFFFFFFFFFFFFFF - 1)):
                    src_k[at], src_i[at] = src_k[at - 1], src_i[at - 1]
                    at -= 1
                src_k[at], src_i[at] = k, j
            start = i
    if swapped:
        ranked[:n] = src_i[:n]


@njit(cache=True, nogil=True)
def step(dist: np.ndarray, q: float, filled: int) -> None:
    """One more program with chance q: ``outcome``'s recursion in place (bins 0..kmax, the last
    holds kmax or more): bin k becomes dist[k] (1 - q) + dist[k - 1] q, the last bin also keeps
    dist[kmax] q. Only the first ``filled`` bins can hold mass before the step (the others are
    exact zeros and stay so)."""
    K = dist.shape[0] - 1
    omq = 1.0 - q
    over = dist[K] * q
    prev = dist[0]
    dist[0] = prev * omq
    for k in range(1, min(filled, K) + 1):
        cur = dist[k]
        dist[k] = cur * omq + prev * q
        prev = cur
    dist[K] += over


@njit(cache=True, nogil=True)
def dot(curve: np.ndarray, d: np.ndarray) -> float:
    """``curve @ d`` summed bin by bin in a fixed order (``batch._dot``)."""
    out = 0.0
    for k in range(d.shape[0]):
        out += curve[k] * d[k]
    return out


@njit(cache=True, nogil=True)
def _grid(first: int, top: int, step_: int, grid: np.ndarray) -> int:
    """``lists.size_grid``: first, first + step, ... up to top, and top itself; their count."""
    g = 0
    size = first
    while size <= top:
        grid[g] = size
        g += 1
        size += step_
    if g == 0 or grid[g - 1] < top:
        grid[g] = top
        g += 1
    return g


@njit(cache=True, nogil=True)
def _advance(to: int, at: int, d: np.ndarray, p: np.ndarray, logit: np.ndarray, ks: np.ndarray) -> int:
    """Take ranked programs into the recursion until ``to`` are taken, each one's
    P(interview) (``p``, from its log-odds ``logit``) computed as it is taken: a list reads
    only the chances the size choice reached. The chances first (``sigmoid_range``, ``ks`` its
    scratch), then the steps."""
    if at < to:
        sigmoid_range(logit, p, at, to, ks)
    while at < to:
        step(d, p[at], at + 1)
        at += 1
    return at


@njit(cache=True, nogil=True)
def _reach(to: int, at: int, d: np.ndarray, p: np.ndarray, logit: np.ndarray, curve: np.ndarray, covers: int, snap: np.ndarray, ks: np.ndarray) -> int:
    """``_advance`` to ``to``, keeping P(match) and P(no interview) at the budget's size
    (``snap``) when passing it."""
    if at < covers <= to:
        at = _advance(covers, at, d, p, logit, ks)
        snap[0], snap[1] = dot(curve, d), d[0]
    return _advance(to, at, d, p, logit, ks)


@njit(cache=True, nogil=True)
def size_row(
    s: np.ndarray, curve: np.ndarray, n_cand: int, covers: int, p: np.ndarray, logit: np.ndarray, d: np.ndarray,
    grid: np.ndarray, at_grid: np.ndarray, snap: np.ndarray, ks: np.ndarray,
) -> tuple[int, int, float, float]:
    """``lists.choose_size`` on the size curve of the ranked chances (log-odds ``logit``), the
    recursion advanced only as far as the choice reads it: (size, size rule code, P(match),
    P(no interview) at that size). The chances taken are written to ``p`` (at least the first
    ``size``: the size is never past the last grid point reached). ``at_grid``: P(match) and
    P(no interview) at each grid point reached."""
    d[:] = 0.0
    d[0] = 1.0
    snap[0], snap[1] = dot(curve, d), 1.0
    top = min(int(s[S_MAX_SIZE]), n_cand)
    if top == 0:
        return 0, NO_CANDIDATE, snap[0], snap[1]
    G = _grid(min(int(s[S_MIN_SIZE]), top), top, int(s[S_STEP]), grid)
    at = _reach(grid[0], 0, d, p, logit, curve, covers, snap, ks)
    at_grid[0, 0], at_grid[1, 0] = dot(curve, d), d[0]
    k, why = G - 1, EVERY
    for i in range(G):
        if at_grid[0, i] >= s[S_TARGET]:
            k, why = i, REACHED
            break
        if i + 1 < G:
            at = _reach(grid[i + 1], at, d, p, logit, curve, covers, snap, ks)
            at_grid[0, i + 1], at_grid[1, i + 1] = dot(curve, d), d[0]
            if at_grid[0, i + 1] - at_grid[0, i] < s[S_MIN_GAIN]:
                k, why = i, STOPPED
                break
    if 0 <= covers < grid[k]:
        return covers, BUDGET, snap[0], snap[1]
    return grid[k], why, at_grid[0, k], at_grid[1, k]


@njit(cache=True, nogil=True)
def outcome_row(s: np.ndarray, curve: np.ndarray, n: int, p: np.ndarray, p_low: np.ndarray, p_high: np.ndarray, d: np.ndarray, e: np.ndarray, band: np.ndarray, out: np.ndarray) -> None:
    """The first n ranked programs' bands, and the list's outcome (expected interviews with
    their interval, P(match) at the curve's low and high ends) into ``out``."""
    d[:] = 0.0
    d[0] = 1.0
    e[:] = 0.0
    e[0] = 1.0
    expected, low, high = 0.0, 0.0, 0.0
    for i in range(n):
        expected += p[i]
        low += p_low[i]
        high += p_high[i]
        step(d, p_low[i], i + 1)
        step(e, p_high[i], i + 1)
        band[i] = 2 if p[i] >= s[S_LIKELY] else (1 if p[i] >= s[S_BAND_TARGET] else 0)
    out[O_EXPECTED], out[O_LOW], out[O_HIGH] = expected, low, high
    out[O_P_MATCH_LOW], out[O_P_MATCH_HIGH] = dot(curve[1], d), dot(curve[2], e)


@njit(cache=True, nogil=True)
def _bounds(pf: np.ndarray, order: np.ndarray, logit: np.ndarray, n: int, end: int, x: np.ndarray, into: np.ndarray, ks: np.ndarray) -> None:
    """The chance at an end of the baseline's interval (row ``end``: P_LOW or P_HIGH) of the
    first n ranked programs: sigmoid(logit - baseline + end), as ``batch`` always computed it."""
    for i in range(n):
        j = order[i]
        x[i] = logit[i] - pf[P_BASE, j] + pf[end, j]
    sigmoid_range(x, into, 0, n, ks)


@njit(cache=True, nogil=True)
def score_rows(
    pf: np.ndarray, pb: np.ndarray, left: np.ndarray, af: np.ndarray, pref: np.ndarray, s: np.ndarray, curve: np.ndarray,
    start: int, stop: int, W: int, counts: np.ndarray, at: np.ndarray, order: np.ndarray, p: np.ndarray, p_low: np.ndarray, p_high: np.ndarray,
    preferred: np.ndarray, band: np.ndarray, n_out: np.ndarray, why: np.ndarray, out: np.ndarray,
) -> None:
    """Keys ``start``..``stop`` (columns of ``af``) against every program: each key's status
    counts; its list size (``n_out``, at most W) and size rule; its listed programs in rank
    order (``order``: program index) with P(interview), its interval, band and preferred-state
    flag; the outcome (``out``, columns O_*).

    The listed rows are flat: key u's are ``at[u]`` .. ``at[u] + n_out[u]`` of ``order``, ``p``,
    ``p_low``, ``p_high``, ``band`` and ``preferred``, the keys of the block one after the
    other from ``start * W`` (a block never writes past ``stop * W``: each key's W entries of
    room end there at the latest). Only the listed entries are written, so of arrays made by
    ``np.empty`` only the pages the lists fill are ever touched (a fresh page costs a fault,
    several microseconds on a virtual machine: with a row of W per key every page was).
    ``curve``: (3, kmax + 1), the contiguous-ranks curve's P(match), low and high."""
    P, K = pf.shape[1], curve.shape[1] - 1
    lg, hk, hi = np.empty(P), np.empty(P), np.empty(P, dtype=np.int64)
    keys, spare, spare_i, ranked = np.empty(P, dtype=np.int64), np.empty(P, dtype=np.int64), np.empty(P, dtype=np.int64), np.empty(P, dtype=np.int64)
    logit, x, ks = np.empty(W), np.empty(W), np.empty(W, dtype=np.int64)
    d, e, snap = np.empty(K + 1), np.empty(K + 1), np.empty(2)
    grid, at_grid, hist = np.empty(W + 2, dtype=np.int64), np.empty((2, W + 2)), np.empty(512, dtype=np.int64)
    r = start * W
    for u in range(start, stop):
        c = candidates(pf, pb, left, af, pref, s, u, lg, hk, hi, counts[u])
        ranked_into(hk, hi, c, keys, spare, spare_i, ranked, hist)
        for i in range(min(c, W)):
            logit[i] = lg[ranked[i]]
        pu, lu, hu, ou, bu = p[r : r + W], p_low[r : r + W], p_high[r : r + W], order[r : r + W], band[r : r + W]
        n, rule, pm, p0 = size_row(s, curve[0], c, int(af[A_COVERS, u]), pu, logit, d, grid, at_grid, snap, ks)
        mask = int(af[A_PREF, u])
        for i in range(n):
            ou[i], preferred[r + i] = ranked[i], pref[mask, ranked[i]]
        at[u], n_out[u], why[u] = r, n, rule
        out[u, O_P_MATCH], out[u, O_P_NO_INTERVIEW] = pm, p0
        _bounds(pf, ou, logit, n, P_LOW, x, lu, ks)
        _bounds(pf, ou, logit, n, P_HIGH, x, hu, ks)
        outcome_row(s, curve, n, pu, lu, hu, d, e, bu, out[u])
        r += n


@njit(cache=True, nogil=True)
def key_counts(at: np.ndarray, n: np.ndarray, band: np.ndarray, preferred: np.ndarray) -> np.ndarray:
    """Per key, its listed programs (``at[u]`` .. ``at[u] + n[u]``) in the likely, target and
    reach bands and in a preferred state: (U, 4)."""
    out = np.zeros((n.shape[0], 4), dtype=np.int64)
    for u in range(n.shape[0]):
        for r in range(at[u], at[u] + n[u]):
            out[u, 2 - band[r]] += 1         # codes: reach 0, target 1, likely 2
            out[u, 3] += preferred[r]
    return out


@njit(cache=True, nogil=True)
def listed_rows(
    key: np.ndarray, at: np.ndarray, n: np.ndarray, order: np.ndarray, p: np.ndarray, p_low: np.ndarray, p_high: np.ndarray, band: np.ndarray, preferred: np.ndarray,
    who: np.ndarray, rank: np.ndarray, prog: np.ndarray, pp: np.ndarray, pl: np.ndarray, ph: np.ndarray, bd: np.ndarray, pr: np.ndarray,
) -> None:
    """One row per applicant per listed program, in applicant order (applicant i reads key
    ``key[i]``, its rows ``at[u]`` .. ``at[u] + n[u]``), into the given arrays (as many as the
    rows): applicant (int32), rank from 1, program (int32), P(interview), its low and high
    ends, band, preferred state. The caller allocates them with NumPy, whose large arrays get
    huge pages (Numba's own allocations took a 4 KB page fault every 4 KB: three quarters of
    this function's time)."""
    r = 0
    for i in range(key.shape[0]):
        u = key[i]
        a = at[u]
        for pos in range(n[u]):
            who[r], rank[r], prog[r] = i, pos + 1, order[a + pos]
            pp[r], pl[r], ph[r], bd[r], pr[r] = p[a + pos], p_low[a + pos], p_high[a + pos], band[a + pos], preferred[a + pos]
            r += 1


# The batch's entry points, each compiled by ``warm``.
ENTRY_POINTS = (score_rows, key_counts, listed_rows)


def warm() -> None:
    """Compile the batch's entry points (or load them from Numba's cache) on empty inputs of
    the types and layouts ``batch`` passes, running nothing: ``make setup`` calls it once per
    install (about 20 CPU-seconds), so no batch run or test pays the compilation."""
    f8, i8, b1, i1 = np.float64, np.int64, np.bool_, np.int8

    def z(*shape: int, dtype: type = f8) -> np.ndarray:
        return np.zeros(shape, dtype=dtype)

    score_rows(
        z(N_PF, 1), z(N_PB, 1, dtype=b1), z(1, 1, dtype=i8), z(N_AF, 0), z(0, 1, dtype=b1), z(N_S), z(3, 1),
        0, 0, 1, z(0, N_COUNTS, dtype=i8), z(0, dtype=i8), z(0, dtype=i8), z(0), z(0), z(0), z(0, dtype=b1),
        z(0, dtype=i1), z(0, dtype=i8), z(0, dtype=i1), z(0, N_OUT),
    )
    key_counts(z(0, dtype=i8), z(0, dtype=i8), z(0, dtype=i1), z(0, dtype=b1))
    listed_rows(
        z(0, dtype=i8), z(0, dtype=i8), z(0, dtype=i8), z(0, dtype=i8), z(0), z(0), z(0), z(0, dtype=i1), z(0, dtype=b1),
        z(0, dtype=np.int32), z(0, dtype=i8), z(0, dtype=np.int32), z(0), z(0), z(0), z(0, dtype=i1), z(0, dtype=b1),
    )

if __name__ == "__main__":
    warm()
