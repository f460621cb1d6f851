"""One recommendation's programs: every program's chance, band, status and rank as arrays
(``Listing``), and from them, each when first read, the reasons of the listed programs, the
frames a person or a file reads (``programs``: the list; ``all_programs``: every program) and
the list as JSON records (``records``: what ``Recommendation.to_json`` returns, without
building a frame).

The records are the frame's ``to_json(orient="records")`` read back: the same keys in the same
order, floats rounded by the same encoder (pandas' ``ujson_dumps``, as ``to_json``), missing values
as None. Imports neither Prefect, GX nor scikit-learn.
"""

from __future__ import annotations

import functools
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


def _each_written(values: list[float | None]) -> list[str]:
    """Each number (or None) as ``orjson.dumps`` writes it alone: one call for the list, split
    at its commas (a number's text has none)."""
    return orjson.dumps(values).decode()[1:-1].split(",") if values else []


# Each contribution's JSON text up to its log-odds, with the separator before it ("[" or ",").
_TERM_OPEN = tuple(("[" if k == 0 else ",") + f'{{"term":{json.dumps(t)},"log_odds":' for k, t in enumerate(TERMS))


def contribution_texts(written_lo: np.ndarray, written_om: np.ndarray, index: np.ndarray, tails: list[np.ndarray]) -> list[str]:
    """Per program, the JSON text ``orjson.dumps`` writes of its contributions
    (``explain.contribution_rows`` of the written log-odds and odds multipliers
    ``written_*[index]`` and of the bases and evidence ``explain.contribution_tails`` writes):
    the same keys, values and order. Each distinct value is written by orjson once; the pieces
    are laid out as an (n, 5 T + 1) table (term by term: its opening, log-odds, the odds
    multiplier's key, odds multiplier, basis and evidence; then "]"), each row joined."""
    n, T = index.shape
    if not n:
        return []
    lo, om = (np.array(_each_written(x.tolist()), dtype=object) for x in (written_lo, written_om))
    pieces = np.empty((n, 5 * T + 1), dtype=object)
    pieces[:, 0 : 5 * T : 5] = np.array(_TERM_OPEN, dtype=object)
    pieces[:, 1 : 5 * T : 5] = lo[index]
    pieces[:, 2 : 5 * T : 5] = ',"odds_multiplier":'
    pieces[:, 3 : 5 * T : 5] = om[index]
    pieces[:, 4 : 5 * T : 5] = np.stack(tails, axis=1)
    pieces[:, -1] = "]"
    return ["".join(row) for row in pieces.tolist()]


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
        """``explain.contribution_tails`` of the listed programs (computed once)."""
        if "tails" not in self._cache:
            s, data = self.s, self.s.prep.data
            self._cache["tails"] = explain.contribution_tails(s.terms, data.coefficients, s.applicants, data.programs, 0, self.listed)
        return self._cache["tails"]

    def _columns(self) -> tuple[dict[str, list[Any]], tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The list's columns as ``programs.to_json(orient="records")`` reads them back, but for
        ``contributions``; and the contributions' written log-odds and odds multipliers (each
        distinct value once) with each cell's index into them."""
        s, js, n = self.s, self.listed, len(self.listed)
        cols, ex = program_columns(s.prep), self.explained()
        sh = ex.shown
        floats = np.concatenate([cols["img_share"][js], s.p[0, js], s.p_low[0, js], s.p_high[0, js], sh.log_odds, sh.odds])
        rounded = _as_written(floats)
        k = len(sh.log_odds)
        written_lo = np.array(rounded[4 * n : 4 * n + k], dtype=object)
        written_om = np.array(rounded[4 * n + k :], dtype=object)
        values = {
            "rank": self.rank[js].tolist(),
            **{k: cols["text"][k][js].tolist() for k in _TEXT},
            "img_share": rounded[:n], "p_interview": rounded[n : 2 * n],
            "p_interview_low": rounded[2 * n : 3 * n], "p_interview_high": rounded[3 * n : 4 * n],
            "band": np.array(BANDS, dtype=object)[self.band()[js]].tolist(), "why": ex.why,
            "preferred_state": s.preferred[0, js].tolist(),
            "status": np.array(lists.STATUS, dtype=object)[self.status[js]].tolist(),
            "exclusion_reasons": explain.exclusion_texts(s.terms, 0, js).tolist(),
            "states_failed_attempts_policy": cols["states_failed_attempts_policy"][js].tolist(),
            "states_yog_window": cols["states_yog_window"][js].tolist(),
            "published_version": [s.prep.data.version] * n, "cautions": ex.cautions,
        }
        return values, (written_lo, written_om, sh.index)

    def records(self) -> list[dict[str, Any]]:
        """The list as ``programs.to_json(orient="records")`` reads back, contributions as
        lists: without building the frame."""
        values, (written_lo, written_om, index) = self._columns()
        ex = self.explained()
        values["contributions"] = explain.contribution_rows(written_lo[index].tolist(), written_om[index].tolist(), ex.bases, ex.evidence)
        return _rows(values)

    def records_json(self) -> list[dict[str, Any]]:
        """``records`` for ``orjson.dumps``: the same rows, each program's contributions as one
        ``orjson.Fragment`` (the JSON text ``orjson.dumps`` writes of its ``records`` list),
        written from the arrays without a mapping per term."""
        values, (written_lo, written_om, index) = self._columns()
        values["contributions"] = [orjson.Fragment(x) for x in contribution_texts(written_lo, written_om, index, self.tails())]
        return _rows(values)

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
