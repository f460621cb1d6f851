"""One recommendation's programs: every program's chance, band, status and rank as arrays
(``Listing``), and from them, each when first read, the reasons of the listed programs, the
frames a person or a file reads (``programs``: the list; ``all_programs``: every program) and
the list as JSON records (``records``: what ``Recommendation.to_json`` returns, without
building a frame) and as the JSON text orjson writes of them (``list_json``: what the API
sends, put together from pieces written once per version or per distinct value).

The records are the frame's ``to_json(orient="records")`` read back: the same keys in the same
order, floats rounded by the same encoder (pandas' ``ujson_dumps``, as ``to_json``), missing values
as None. Imports neither Prefect, GX nor scikit-learn.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pandas as pd
from pandas.io.json import ujson_dumps

from imgpipeline.advice import core, explain, lists
from imgpipeline.advice.model import TERMS, band_of
from imgpipeline.vocabulary import BANDS, PROGRAM_TIERS

YOG_WINDOWS = ["stated_limit", "stated_preference", "stated_no_limit"]
# The list's columns, in order (``contributions`` last, as ``to_json`` puts it).
LIST_COLUMNS = (
    "rank", "acgme_id", "program_name", "city", "state", "program_tier", "img_share", "img_share_basis",
    "p_interview", "p_interview_low", "p_interview_high", "band", "why", "preferred_state", "status",
    "exclusion_reasons", "states_failed_attempts_policy", "states_yog_window", "acgme_snapshot",
    "freida_snapshot", "published_version", "cautions", "contributions",
)
_TEXT = ("acgme_id", "program_name", "city", "state", "program_tier", "img_share_basis", "acgme_snapshot", "freida_snapshot")


def program_columns(prep: core.Prepared) -> dict[str, np.ndarray]:
    """The program columns of the list that only the version decides, as arrays (objects,
    missing as None), computed once per prepared version."""
    hit = prep.cache.get("listing_columns")
    if hit is not None:
        return hit
    data = prep.data
    ps, t = data.programs, data.table
    out = {
        "acgme_id": ps.acgme_id,
        "program_name": data.display_name,
        "city": t["city"].to_numpy(dtype=object),
        "state": t["state"].to_numpy(dtype=object),
        "program_tier": np.array(PROGRAM_TIERS, dtype=object)[ps.tier_idx],
        "img_share": t["img_share"].to_numpy(dtype=float),
        "img_share_basis": t["img_share_basis"].to_numpy(dtype=object),
        "states_failed_attempts_policy": ps.excludes_failures,
        "states_yog_window": np.isin(ps.yog_tolerance, YOG_WINDOWS),
        "acgme_snapshot": t["acgme_snapshot"].to_numpy(dtype=object),
        "freida_snapshot": t["freida_snapshot"].to_numpy(dtype=object),
    }
    out["text"] = {k: np.array([x if isinstance(x, str) else None for x in out[k]], dtype=object) for k in _TEXT}
    prep.cache["listing_columns"] = out
    return out


def _as_written(values: np.ndarray) -> list[Any]:
    """Floats as ``DataFrame.to_json`` writes them, read back (its encoder, ``ujson_dumps``,
    rounds to 10 decimals and writes -0.0 as 0.0; nan as None): one encoder call for all of
    them, on the array itself (no Series), read back by orjson (the same floats as ``json``)."""
    return orjson.loads(ujson_dumps(np.asarray(values, dtype=float), double_precision=10)) if len(values) else []


def _each_written(values: list[float | None]) -> list[bytes]:
    """Each number (or None) as ``orjson.dumps`` writes it alone: one call for the list, split
    at its commas (a number's text has none)."""
    return orjson.dumps(values)[1:-1].split(b",") if values else []


# Each contribution's JSON text up to its log-odds: the first's, and what follows each term's
# basis and evidence (the next term's opening, or the list's end).
_FIRST_OPEN = b'[{"term":' + orjson.dumps(TERMS[0]) + b',"log_odds":'
TERM_FOLLOW = tuple(b',{"term":' + orjson.dumps(t) + b',"log_odds":' for t in TERMS[1:]) + (b"]",)


def contribution_pieces(written_lo: list[bytes], written_om: list[bytes], index: np.ndarray, tails: list[np.ndarray]) -> np.ndarray:
    """Per program (a row), the pieces of the JSON text ``orjson.dumps`` writes of its
    contributions (``explain.contribution_rows`` of the log-odds and odds multipliers whose
    written texts are ``written_*[index]`` and of the bases and evidence
    ``explain.contribution_tails`` writes, followed by ``TERM_FOLLOW``), a row joined: the same
    keys, values and order. Each distinct value is written by orjson once (``_each_written``);
    the (n, 2 T + 1) pieces are the first term's opening, then term by term its log-odds and
    odds multiplier, and its basis and evidence with what follows."""
    n, T = index.shape
    pieces = np.empty((n, 2 * T + 1), dtype=object)
    if not n:
        return pieces
    numbers = np.array([x + b',"odds_multiplier":' + y for x, y in zip(written_lo, written_om, strict=True)], dtype=object)
    pieces[:, 0] = _FIRST_OPEN
    pieces[:, 1::2] = numbers[index]
    pieces[:, 2::2] = np.stack(tails, axis=1)
    return pieces


# The list's columns only the version decides (never the first: ``_version_runs``).
_BY_VERSION = frozenset(_TEXT) | {"img_share", "states_failed_attempts_policy", "states_yog_window", "published_version"}


# The list's columns of numbers (and flags) the applicant decides: written by one orjson call
# each (``_each_written``; a number's text holds no comma).
_NUMBERS = frozenset({"rank", "p_interview", "p_interview_low", "p_interview_high", "preferred_state"})


def _written(values: list[Any]) -> list[bytes]:
    """Each value as ``orjson.dumps`` writes it, each distinct value written once."""
    once = {v: orjson.dumps(v) for v in set(values)}
    return [once[v] for v in values]


def _version_runs(prep: core.Prepared) -> list[np.ndarray]:
    """Per run of consecutive ``LIST_COLUMNS`` that only the version decides, each program's
    JSON text of them (``,"column":value`` each, as ``orjson.dumps`` writes the records),
    computed once per prepared version."""
    hit = prep.cache.get("listing_runs")
    if hit is not None:
        return hit
    cols, P = program_columns(prep), prep.data.n
    written = {k: _written(cols["text"][k].tolist()) for k in _TEXT}
    written["img_share"] = _each_written(_as_written(cols["img_share"]))
    written |= {k: _each_written(cols[k].tolist()) for k in ("states_failed_attempts_policy", "states_yog_window")}
    written["published_version"] = _written([prep.data.version] * P)
    assert LIST_COLUMNS[0] not in _BY_VERSION and set(written) == _BY_VERSION
    runs = []
    for by_version, names in itertools.groupby(LIST_COLUMNS, key=lambda k: k in _BY_VERSION):
        if by_version:
            keyed = [[b"," + orjson.dumps(k) + b":" + v for v in written[k]] for k in names]
            runs.append(np.array([b"".join(parts) for parts in zip(*keyed, strict=True)], dtype=object))
    prep.cache["listing_runs"] = runs
    return runs


def _rows(values: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The list's records from its columns, in ``LIST_COLUMNS`` order."""
    return [dict(zip(LIST_COLUMNS, row, strict=True)) for row in zip(*(values[k] for k in LIST_COLUMNS), strict=True)]


@dataclass
class Explained:
    """The listed programs' reasons, in rank order: each term's log-odds as shown, why the chance
    is what it is, what to check, and each term's basis and evidence ((n, T) rows, worded when
    first read: ``read_texts``)."""

    shown: explain.Shown
    why: list[str]
    cautions: list[str]
    read_texts: Callable[[], tuple[list[list[str]], list[list[str]]]] = field(repr=False)

    @functools.cached_property
    def _texts(self) -> tuple[list[list[str]], list[list[str]]]:
        return self.read_texts()

    @property
    def bases(self) -> list[list[str]]:
        return self._texts[0]

    @property
    def evidence(self) -> list[list[str]]:
        return self._texts[1]

    def contributions(self) -> list[list[dict[str, Any]]]:
        """``explain.contributions_of`` of the listed programs."""
        return explain.contribution_rows(*self.shown.cells(), self.bases, self.evidence)


@dataclass
class Listing:
    """Row 0 of scored applicants (``core.Scored``) after sizing: each program's rank (0: not
    listed) and status, and the list (program indices in rank order)."""

    s: core.Scored
    rank: np.ndarray
    status: np.ndarray
    listed: np.ndarray
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, s: core.Scored, n: int) -> Listing:
        """The first ``n`` candidates listed (``lists.take_top``)."""
        rank, status = lists.take_top(s.order[:1], s.status[:1], np.array([n]))
        listed = s.cand[0][: int((status[0] == lists.LISTED).sum())]
        return cls(s, rank[0], status[0], listed)

    def band(self) -> np.ndarray:
        c = self.s.prep.data.coefficients
        return band_of(self.s.p[0], self.s.excluded[0], c["band_likely"], c["band_target"])

    def explained(self) -> Explained:
        """Why each listed program's chance is what it is, and what to check (computed once)."""
        if "explained" not in self._cache:
            s, js = self.s, self.listed
            data = s.prep.data
            c, a, ps = data.coefficients, s.applicants, data.programs
            shown = explain.Shown.of(explain.term_values(s.terms, 0, js))
            self._cache["explained"] = Explained(
                shown=shown,
                why=explain.why_rows(shown.log_odds[shown.index], c["calibration_offset"]),
                cautions=explain.caution_texts(a, ps, 0, js),
                read_texts=lambda: explain.text_rows(explain.term_texts(s.terms, c, a, ps, 0, js)),
            )
        return self._cache["explained"]

    def tails(self) -> list[np.ndarray]:
        """``explain.contribution_tails`` of the listed programs, each followed by the next
        term's opening (``TERM_FOLLOW``; computed once)."""
        if "tails" not in self._cache:
            s, data = self.s, self.s.prep.data
            self._cache["tails"] = explain.contribution_tails(s.terms, data.coefficients, s.applicants, data.programs, 0, self.listed, TERM_FOLLOW)
        return self._cache["tails"]

    def _columns(self) -> tuple[dict[str, list[Any]], tuple[list[Any], list[Any], np.ndarray]]:
        """The list's columns the applicant decides as ``programs.to_json(orient="records")``
        reads them back, but for ``contributions``; and the contributions' log-odds and odds
        multipliers as read back (each distinct value once) with each cell's index into them.
        The columns only the version decides are ``_version_columns``'."""
        s, js, n = self.s, self.listed, len(self.listed)
        ex = self.explained()
        sh, k = ex.shown, len(ex.shown.log_odds)
        rounded = _as_written(np.concatenate([s.p[0, js], s.p_low[0, js], s.p_high[0, js], sh.log_odds, sh.odds]))
        values = {
            "rank": self.rank[js].tolist(),
            "p_interview": rounded[:n], "p_interview_low": rounded[n : 2 * n], "p_interview_high": rounded[2 * n : 3 * n],
            "band": np.array(BANDS, dtype=object)[self.band()[js]].tolist(), "why": ex.why,
            "preferred_state": s.preferred[0, js].tolist(),
            "status": np.array(lists.STATUS, dtype=object)[self.status[js]].tolist(),
            "exclusion_reasons": explain.exclusion_texts(s.terms, 0, js).tolist(),
            "cautions": ex.cautions,
        }
        return values, (rounded[3 * n : 3 * n + k], rounded[3 * n + k :], sh.index)

    def _version_columns(self) -> dict[str, list[Any]]:
        """The list's columns only the version decides, at the listed programs, as
        ``programs.to_json(orient="records")`` reads them back (``list_json`` writes them from
        ``_version_runs`` instead)."""
        cols, js = program_columns(self.s.prep), self.listed
        return {
            **{k: cols["text"][k][js].tolist() for k in _TEXT},
            "img_share": _as_written(cols["img_share"][js]),
            **{k: cols[k][js].tolist() for k in ("states_failed_attempts_policy", "states_yog_window")},
            "published_version": [self.s.prep.data.version] * len(js),
        }

    def records(self) -> list[dict[str, Any]]:
        """The list as ``programs.to_json(orient="records")`` reads back, contributions as
        lists: without building the frame."""
        values, (log_odds, odds, index) = self._columns()
        ex = self.explained()
        cells = [np.array(x, dtype=object)[index].tolist() for x in (log_odds, odds)]
        values |= self._version_columns()
        values["contributions"] = explain.contribution_rows(*cells, ex.bases, ex.evidence)
        return _rows(values)

    def _written_values(self) -> dict[str, Any]:
        """The JSON text of each listed program's value in the columns the applicant decides
        (``_columns``' values as ``orjson.dumps`` writes them: each numeric column in one call,
        ``_each_written``; each distinct text once; the contributions as the rows of
        ``contribution_pieces``)."""
        values, (log_odds, odds, index) = self._columns()
        out = {k: _each_written(v) if k in _NUMBERS else _written(v) for k, v in values.items()}
        out["contributions"] = contribution_pieces(_each_written(log_odds), _each_written(odds), index, self.tails())
        return out

    def list_json(self, before: bytes = b"", after: bytes = b"") -> bytes:
        """``records()`` as the JSON text ``orjson.dumps`` writes of it (between ``before`` and
        ``after``: the text the list is part of, joined with it in one copy), put together from
        pieces: the runs of columns only the version decides written once per version
        (``_version_runs``), the applicant's columns from the arrays (``_written_values``),
        laid out as one (n, pieces) table and joined at once."""
        n = len(self.listed)
        if not n:
            return before + b"[]" + after
        runs, values = iter(_version_runs(self.s.prep)), self._written_values()
        columns: list[Any] = [b",{"]
        for by_version, names in itertools.groupby(LIST_COLUMNS, key=lambda k: k in _BY_VERSION):
            if by_version:
                columns.append(next(runs)[self.listed])
                continue
            for name in names:
                columns += [b"," * (name != LIST_COLUMNS[0]) + orjson.dumps(name) + b":", values[name]]
        columns.append(b"}")
        widths = [col.shape[1] if isinstance(col, np.ndarray) and col.ndim == 2 else 1 for col in columns]
        pieces, at = np.empty((n, sum(widths)), dtype=object), 0
        for col, w in zip(columns, widths, strict=True):
            if w > 1:
                pieces[:, at : at + w] = col
            else:
                pieces[:, at] = col
            at += w
        pieces[0, 0], pieces[-1, -1] = before + b"[{", b"}]" + after   # the ends, without copying the text
        return b"".join(pieces.ravel().tolist())

    def table(self) -> pd.DataFrame:
        """Every program with its chance, band, status and rank, in the version's order."""
        s, cols = self.s, program_columns(self.s.prep)
        df = pd.DataFrame({
            "rank": self.rank,
            **{k: cols[k] for k in ("acgme_id", "program_name", "city", "state", "program_tier", "img_share", "img_share_basis")},
            "p_interview": s.p[0],
            "p_interview_low": s.p_low[0],
            "p_interview_high": s.p_high[0],
            "band": np.array(BANDS, dtype=object)[self.band()],
            "preferred_state": s.preferred[0],
            "status": np.array(lists.STATUS, dtype=object)[self.status],
            "exclusion_reasons": explain.exclusion_texts(s.terms),
            **{k: cols[k] for k in ("states_failed_attempts_policy", "states_yog_window", "acgme_snapshot", "freida_snapshot")},
        })
        df["published_version"] = s.prep.data.version
        return df

    def programs(self) -> pd.DataFrame:
        """The list, ranked, with each program's reasons (computed once)."""
        if "programs" not in self._cache:
            listed = self.table().iloc[self.listed].reset_index(drop=True)
            ex = self.explained()
            listed.insert(listed.columns.get_loc("band") + 1, "why", ex.why)
            listed["cautions"] = ex.cautions
            listed["contributions"] = [json.dumps(x) for x in ex.contributions()]
            self._cache["programs"] = listed
        return self._cache["programs"]

    def all_programs(self) -> pd.DataFrame:
        """Every program: the list by rank, then the rest by status and chance (computed once)."""
        if "all_programs" not in self._cache:
            order = np.lexsort((-self.s.p[0], np.where(self.rank > 0, self.rank, 1 << 30), self.status))
            table = self.table().iloc[order].drop(columns=["states_failed_attempts_policy", "states_yog_window"])
            self._cache["all_programs"] = table.reset_index(drop=True)
        return self._cache["all_programs"]
