"""NRMP program codes to ACGME program numbers.

NRMP codes (``1102140C0``: institution 1102, specialty 140, categorical track 0) are not
ACGME numbers and no public file maps one to the other. This module links each IM code
(specialty 140, any track) to an ACGME program by what both sources name: sponsor, site and
city, scored with rapidfuzz, and by one direct statement where it exists: the 2016 FREIDA
page of a program listed its NRMP codes.

How a code is scored against every ACGME program (weights in the rulebook ``crosswalk:``):

- name: rapidfuzz ``token_set_ratio`` of the normalised NRMP sponsor against the ACGME
  program name, site and FREIDA name (best of the three), averaged over the full names and
  their *core* (generic words such as "hospital", "university", "health" dropped), so that
  both shared institutions and distinctive words count;
- site hint: the part of the NRMP label after ``/`` ("Internal Med/Mease Countryside") is
  averaged in when it names a site some ACGME program carries; a hint that names a track
  ("Med-Prelim/Neurology", "Internal Med/Funded") or just the city is ignored;
- city and state: the ACGME city must be the NRMP site city or sponsor city, and the state
  must agree, or the score is penalised;
- preliminary tracks: an ACGME program that offers no preliminary positions is penalised.

A code is linked when the best score reaches ``link_threshold`` and beats the runner-up (a
different ACGME id) by ``min_margin``; or when the 2016 FREIDA page of a program still on the
ACGME list named the code and that program's score reaches ``code_2016_min_score``. Anything
else stays unlinked and is listed in ``unmatched_records``; nothing is linked silently.
Several codes (the C, P and M tracks of one program, or a code that changed sponsor) may link
to one ACGME id.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field
from rapidfuzz import fuzz, process

from imgpipeline.refresh.land import Snapshot, provenance
from imgpipeline.settings import Settings
from imgpipeline.tables import TABLES

log = logging.getLogger(__name__)

SOURCE = "nrmp_program_results_fl"
IM_SPECIALTY = "140"

# Phrases expanded before words are split (NRMP's and ACGME's abbreviations).
PHRASES: tuple[tuple[str, str], ...] = (
    (r"\bint(?:ernal)?\.? med\b\.?", "internal medicine"),
    (r"\bmed-prelim\b", "medicine preliminary"),
    (r"\bfam\.? med\b", "family medicine"),
    (r"\bcom\b", "college of medicine"),
    (r"\bmsom\b", "miller school of medicine"),
    (r"\bgrad\.? med\.? educ?\b", "graduate medical education"),
)
# Single-word abbreviations, expanded word by word after punctuation is dropped.
ABBREVIATIONS: dict[str, str] = {
    "st": "saint",
    "ste": "sainte",
    "ft": "fort",
    "mt": "mount",
    "pt": "point",
    "univ": "university",
    "u": "university",
    "uf": "university florida",
    "fau": "florida atlantic university",
    "fiu": "florida international university",
    "usf": "university south florida",
    "ucf": "university central florida",
    # NCH Healthcare System renamed itself Naples Comprehensive Health; the ACGME list uses
    # the new name (at 350 7th Street North, NCH's downtown hospital).
    "nch": "naples comprehensive health",
    "med": "medical",
    "ctr": "center",
    "cntr": "center",
    "hosp": "hospital",
    "hosps": "hospitals",
    "reg": "regional",
    "rgnl": "regional",
    "comm": "community",
    "sys": "system",
    "hlth": "health",
    "bch": "beach",
    "asc": "ascension",
    "natl": "national",
    "gen": "general",
    "mem": "memorial",
    "grad": "graduate",
    "educ": "education",
    "coll": "college",
    "sch": "school",
    "som": "school of medicine",
    "inst": "institute",
    "hts": "heights",
    "twp": "township",
    "n": "north",
    "s": "south",
    "e": "east",
    "w": "west",
}
# Words that say nothing about which program a name means (dropped from every name).
FILLER = frozenset(
    "program programs residency internal medicine preliminary primary the of and at in inc "
    "fl gme im".split()
)
# Words shared by many institutions: dropped from the *core* of a name.
GENERIC = frozenset(
    "university college school medical medicine health healthcare system systems hospital "
    "hospitals center centre clinic clinics regional community graduate education foundation "
    "consortium florida campus services network general memorial saint division".split()
)


def normalise(text: object, drop: frozenset[str] = FILLER) -> str:
    """Lower case, abbreviations expanded, punctuation and ``drop`` words removed: the form
    names are compared in ("St. Joseph's Hosp" -> "saint josephs hospital")."""
    if not isinstance(text, str):
        return ""
    s = text.lower().replace("&", " and ")
    s = re.sub(r"['\u2019]s\b", "s", s)
    for pattern, repl in PHRASES:
        s = re.sub(pattern, repl, s)
    words = " ".join(ABBREVIATIONS.get(w, w) for w in re.findall(r"[a-z0-9]+", s)).split()
    return " ".join(w for w in words if w not in drop)


def core(normalised: str) -> str:
    """The distinctive words of a normalised name (generic institution words dropped)."""
    return " ".join(w for w in normalised.split() if w not in GENERIC)


def normalise_city(text: object) -> str:
    """City in comparable form: "St. Petersburg", "St Petersburg" and "Saint Petersburg"
    are one city; "Ft Walton Bch" is "fort walton beach"."""
    return normalise(text, drop=frozenset())


class CrosswalkRules(BaseModel):
    """The rulebook's ``crosswalk:`` section."""

    link_threshold: float = Field(ge=0, le=100)
    min_margin: float = Field(ge=0, le=100)
    city_mismatch_penalty: float = Field(ge=0, le=100)
    state_mismatch_penalty: float = Field(ge=0, le=100)
    preliminary_mismatch_penalty: float = Field(ge=0, le=100)
    site_hint_min: float = Field(ge=0, le=100)
    code_2016_min_score: float = Field(ge=0, le=100)
    candidates_kept: int = Field(ge=1, le=20)


def load_rules(settings: Settings) -> CrosswalkRules:
    return settings.rulebook.typed("crosswalk", CrosswalkRules)


@dataclass(frozen=True)
class Candidate:
    """One ACGME program scored against one NRMP code."""

    acgme_id: str
    score: float
    name_score: float
    city_agrees: bool
    state_agrees: bool
    # May a fuzzy link go to this program? Not when it sits in another city than the NRMP
    # site city (a city the ACGME list knows in that state) and the NRMP label names none of
    # its sites: a sponsor's other site is not this program.
    eligible: bool


def nrmp_im_codes(results: pd.DataFrame) -> pd.DataFrame:
    """One row per IM program code (specialty 140) of the NRMP results, latest year's names,
    with the last year it offered positions."""
    im = results[results["program_code"].str[4:7].eq(IM_SPECIALTY)]
    offered = im[im["quota"] > 0].groupby("program_code")["year"].max().rename("last_year_offered")
    codes = (
        im.sort_values("year")
        .groupby("program_code", as_index=False)
        .last()
        .merge(offered, on="program_code", how="left")
    )
    return codes.reset_index(drop=True)


@dataclass(frozen=True)
class Targets:
    """The ACGME programs as the matcher sees them: every name of each program (ACGME name,
    site, FREIDA name) normalised and flattened, with ``*_owner`` giving the program each
    name belongs to, so one rapidfuzz ``cdist`` call scores a query against all of them."""

    ids: np.ndarray
    city: np.ndarray
    state: np.ndarray
    offers_preliminary: np.ndarray
    names: list[str]
    names_owner: np.ndarray
    cores: list[str]  # distinctive words of each name, the program's own city left out
    cores_owner: np.ndarray
    has_core: np.ndarray
    places: list[str]  # names and the city: what a label's site hint is compared with
    places_owner: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def make_targets(programs: pd.DataFrame) -> Targets:
    """Normalise the programs' names once per build."""
    cols = [c for c in ("program_name", "site", "freida_program_name") if c in programs]
    cities = [normalise_city(c) for c in programs["city"]]
    names: list[str] = []
    names_owner: list[int] = []
    cores: list[str] = []
    cores_owner: list[int] = []
    places: list[str] = []
    places_owner: list[int] = []
    for i, (row, city) in enumerate(
        zip(programs[cols].itertuples(index=False), cities, strict=True)
    ):
        own = list(dict.fromkeys(n for n in (normalise(v) for v in row) if n))
        names += own
        names_owner += [i] * len(own)
        drop = set(city.split())
        own_cores = list(dict.fromkeys(c for c in (_core_words(n, drop) for n in own) if c))
        cores += own_cores
        cores_owner += [i] * len(own_cores)
        places += [*own, city]
        places_owner += [i] * (len(own) + 1)
    n = len(programs)
    has_core = np.zeros(n, dtype=bool)
    has_core[cores_owner] = True
    if "offers_preliminary" in programs:
        prelim = programs["offers_preliminary"].fillna(False).astype(bool).to_numpy()
    else:
        prelim = np.ones(n, dtype=bool)
    return Targets(
        ids=programs["acgme_id"].astype(str).to_numpy(),
        city=np.array(cities, dtype=object),
        state=programs["state"].astype(str).to_numpy(),
        offers_preliminary=prelim,
        names=names,
        names_owner=np.array(names_owner, dtype=int),
        cores=cores,
        cores_owner=np.array(cores_owner, dtype=int),
        has_core=has_core,
        places=places,
        places_owner=np.array(places_owner, dtype=int),
    )


def _core_words(name: str, drop: set[str]) -> str:
    return " ".join(w for w in core(name).split() if w not in drop)


def _best_per_program(
    query: str, choices: list[str], owner: np.ndarray, n: int, scorer=fuzz.token_set_ratio
) -> np.ndarray:
    """The best score of ``query`` against each program's ``choices`` (0 where it has none)."""
    out = np.zeros(n)
    if query and choices:
        scores = process.cdist([query], choices, scorer=scorer, dtype=np.float64)[0]
        np.maximum.at(out, owner, scores)
    return out


NEUTRAL = 50.0


def name_scores(sponsor: str, query_city: str, targets: Targets) -> np.ndarray:
    """How well an NRMP sponsor names each ACGME program (0-100): the mean of the best
    ``token_set_ratio`` over full names and the best over their cores (distinctive words;
    the NRMP site city left out of the sponsor's, the program's own city out of its names',
    since cities are compared on their own; the core score is the mean of token-set and
    token-sort ratios, so a core with extra words scores less). A program whose names have
    no distinctive word left scores a neutral 50 on the core: "University of Florida"
    neither confirms nor rules out "U Florida COM-Shands Hosp"."""
    n = len(targets)
    full = _best_per_program(sponsor, targets.names, targets.names_owner, n)
    q = _core_words(sponsor, set(query_city.split()))
    if not q:
        return full
    cored = np.zeros(n)
    if targets.cores:
        both = (
            process.cdist([q], targets.cores, scorer=fuzz.token_set_ratio, dtype=np.float64)[0]
            + process.cdist([q], targets.cores, scorer=fuzz.token_sort_ratio, dtype=np.float64)[0]
        ) / 2
        np.maximum.at(cored, targets.cores_owner, both)
    cored = np.where(targets.has_core, cored, NEUTRAL)
    return (full + cored) / 2


def site_hint(label: object) -> str:
    """The part of an NRMP label after '/' ("Internal Med/Mease Countryside" -> "mease
    countryside"): a site, a city or a track name; empty when there is none."""
    if not isinstance(label, str) or "/" not in label:
        return ""
    return normalise(label.split("/", 1)[1].strip("/"))


def score_code(
    row: pd.Series, targets: Targets, rules: CrosswalkRules, also: str | None = None
) -> tuple[list[Candidate], str, Candidate | None]:
    """Scores every ACGME program for one NRMP code. Returns the best ones, best first (at
    least two, and ``candidates_kept``), the site hint used ("" when none) and the
    candidate with id ``also`` (None if there is none)."""
    n = len(targets)
    sponsor = normalise(re.sub(r"-FL$", "", str(row["sponsor_cleaned"])))
    site_city = normalise_city(row["site_city"])
    same_state = targets.state == str(row["state"])
    at_site = targets.city == site_city
    # NRMP's "city" is sometimes a campus ("Lawnwood", "Tamiami"): a city no program of the
    # state is in cannot tell candidates apart, so it costs everyone half the penalty.
    known_city = bool((at_site & same_state).any())
    name = name_scores(sponsor, site_city, targets)
    hint = site_hint(row["program_label"])
    if hint == site_city and known_city:
        hint = ""  # just the city, compared on its own: counting it twice favours names with it
    site = np.zeros(n)
    if hint:
        site = _best_per_program(core(hint) or hint, targets.places, targets.places_owner, n)
        # A hint no program of the state carries names a track ("Med-Prelim/Neurology"),
        # not a site: it is left out.
        if same_state.any() and site[same_state].max() >= rules.site_hint_min:
            name = (name + site) / 2
        else:
            hint = ""
            site = np.zeros(n)
    eligible = same_state & (at_site | (not known_city) | (site >= rules.site_hint_min))
    penalty = rules.city_mismatch_penalty if known_city else rules.city_mismatch_penalty / 2
    score = name - (~at_site) * penalty - (~same_state) * rules.state_mismatch_penalty
    if str(row["program_code"])[7] == "P":
        score = score - (~targets.offers_preliminary) * rules.preliminary_mismatch_penalty

    def candidate(i: int) -> Candidate:
        return Candidate(
            acgme_id=str(targets.ids[i]),
            score=round(float(score[i]), 1),
            name_score=round(float(name[i]), 1),
            city_agrees=bool(at_site[i]),
            state_agrees=bool(same_state[i]),
            eligible=bool(eligible[i]),
        )

    order = np.argsort(-score, kind="stable")
    top = [candidate(i) for i in order[: max(2, rules.candidates_kept)]]
    extra = np.flatnonzero(targets.ids == also)
    return top, hint, candidate(int(extra[0])) if len(extra) else None


def codes_listed_2016(freida_2016: pd.DataFrame | None) -> dict[str, str]:
    """NRMP code -> the ACGME id whose 2016 FREIDA page listed it (codes listed by two
    pages are dropped: they say nothing)."""
    if freida_2016 is None or "nrmp_codes_2016" not in freida_2016:
        return {}
    pairs = freida_2016[["acgme_id", "nrmp_codes_2016"]].rename(columns={"nrmp_codes_2016": "code"}).explode("code")
    pairs = pairs[pairs["code"].fillna("").ne("")]
    unique = pairs.drop_duplicates("code", keep=False)
    return dict(zip(unique["code"], unique["acgme_id"].astype(str), strict=True))


def build_crosswalk(
    results: pd.DataFrame,
    programs: pd.DataFrame,
    rules: CrosswalkRules,
    freida_2016: pd.DataFrame | None = None,
    snapshots: dict[str, Snapshot] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``nrmp_crosswalk`` (one row per NRMP IM code) and the ``unmatched_records`` rows of
    the codes left unlinked.

    ``results``: the staged or published ``nrmp_program_results``; ``programs``: the
    published ``programs`` (ACGME universe, with FREIDA names); ``freida_2016``: the staged
    2016 FREIDA IM rows (their NRMP codes), optional; ``snapshots``: landed snapshots by source
    name (``nrmp_program_results_fl``, ``acgme_programs``, ``freida_2016``) for provenance.
    """
    table = TABLES["nrmp_crosswalk"]
    targets = make_targets(programs)
    listed = codes_listed_2016(freida_2016)
    rows = [_link_code(row, targets, rules, listed.get(row["program_code"])) for _, row in nrmp_im_codes(results).iterrows()]
    out = _with_provenance(pd.DataFrame(rows), snapshots or {})
    crosswalk = table.coerce(out[[c for c in table.column_names if c in out.columns]])
    unmatched = unmatched_rows(crosswalk, programs, snapshots or {})
    log.info(
        "crosswalk: %d NRMP IM codes, %d linked (%s), %d unlinked",
        len(crosswalk),
        int(crosswalk["linked"].sum()),
        crosswalk.loc[crosswalk["linked"], "method"].value_counts().to_dict(),
        int((~crosswalk["linked"]).sum()),
    )
    return crosswalk, unmatched


def _link_code(row: pd.Series, targets: Targets, rules: CrosswalkRules, code_2016: str | None) -> dict[str, object]:
    """One NRMP code's crosswalk row: scored against every program, linked or not, and why."""
    cands, hint, listed_cand = score_code(row, targets, rules, also=code_2016)
    best = cands[0]
    # Program ids are unique, so the second candidate is the best other program.
    runner = cands[1] if len(cands) > 1 else None
    margin = best.score - (runner.score if runner else 0.0)
    linked, method, reason = _decide(row, best, runner, margin, listed_cand, code_2016, rules)
    shown = cands[: rules.candidates_kept]
    return {
        "program_code": row["program_code"],
        "track": row["track"],
        "sponsor": row["sponsor_cleaned"],
        "program_label": row["program_label"],
        "site_city": row["site_city"],
        "state": row["state"],
        "last_year_offered": row["last_year_offered"],
        "linked": linked is not None,
        "acgme_id": linked.acgme_id if linked else None,
        "method": method,
        "match_score": linked.score if linked else best.score,
        "name_score": linked.name_score if linked else best.name_score,
        "city_agrees": linked.city_agrees if linked else best.city_agrees,
        "best_acgme_id": best.acgme_id,
        "best_score": best.score,
        "runner_up_acgme_id": runner.acgme_id if runner else None,
        "runner_up_score": runner.score if runner else None,
        "margin": round(margin, 1),
        "site_hint": hint,
        "freida_2016_acgme_id": code_2016,
        "agrees_with_2016": None if code_2016 is None or linked is None else linked.acgme_id == code_2016,
        "candidates": [{"acgme_id": c.acgme_id, "score": c.score, "city_agrees": c.city_agrees} for c in shown],
        "explanation": reason,
    }


def _decide(
    row: pd.Series, best: Candidate, runner: Candidate | None, margin: float,
    listed_cand: Candidate | None, code_2016: str | None, rules: CrosswalkRules,
) -> tuple[Candidate | None, str, str]:
    """The link (None if none), its method and the reason in words: the 2016 FREIDA code when
    it scores well enough, else the best fuzzy candidate when eligible, above the threshold
    and clear of the runner-up."""
    linked: Candidate | None = None
    method, reason = "none", ""
    if listed_cand is not None and listed_cand.score >= rules.code_2016_min_score:
        linked, method = listed_cand, "freida_2016_code"
        reason = (
            f"the 2016 FREIDA page of {code_2016} listed this code; its score "
            f"{linked.score:g} >= {rules.code_2016_min_score:g}"
            + ("" if code_2016 == best.acgme_id else f" (best fuzzy candidate: {best.acgme_id})")
        )
    elif not best.eligible:
        reason = (
            f"city differs: best {best.acgme_id} ({best.score:g}) is not in the NRMP site "
            f"city {row['site_city']} and the label names none of its sites"
        )
    elif best.score < rules.link_threshold:
        reason = f"below threshold: best {best.acgme_id} scores {best.score:g} < {rules.link_threshold:g}"
    elif margin < rules.min_margin:
        reason = (
            f"ambiguous: {best.acgme_id} ({best.score:g}) and "
            f"{runner.acgme_id if runner else '-'} ({runner.score if runner else 0:g}) "
            f"differ by {margin:.1f} < {rules.min_margin:g}"
        )
    else:
        linked, method = best, "fuzzy"
        reason = f"score {best.score:g} >= {rules.link_threshold:g}, margin {margin:.1f} >= {rules.min_margin:g}"
    if code_2016 is not None and method != "freida_2016_code":
        reason = (reason + "; " if reason else "") + (
            f"the 2016 FREIDA page of {code_2016} listed this code, but "
            + (
                "that id is no longer on the ACGME list"
                if listed_cand is None
                else f"its score {listed_cand.score:g} < {rules.code_2016_min_score:g}"
            )
        )
    return linked, method, reason


PROVENANCE = {
    "nrmp": "nrmp_program_results_fl",
    "acgme": "acgme_programs",
    "freida_2016": "freida_2016",
}


def _with_provenance(out: pd.DataFrame, snapshots: dict[str, Snapshot]) -> pd.DataFrame:
    for prefix, source in PROVENANCE.items():
        for col, value in provenance(prefix, snapshots.get(source)).items():
            out[col] = value
    return out


def unmatched_rows(
    crosswalk: pd.DataFrame, programs: pd.DataFrame, snapshots: dict[str, Snapshot]
) -> pd.DataFrame:
    """``unmatched_records`` rows for the NRMP codes left unlinked (same columns as the
    ACGME/FREIDA rows, so the frames concatenate)."""
    un = crosswalk[~crosswalk["linked"]]
    snap = snapshots.get(SOURCE)
    rows = pd.DataFrame(
        {
            "source": SOURCE,
            "record_id": un["program_code"],
            "missing_from": "acgme_programs",
            "program_name": un["sponsor"] + " / " + un["program_label"],
            "city": un["site_city"],
            "state": un["state"],
            "note": "NRMP code not linked to an ACGME program in nrmp_crosswalk ("
            + un["explanation"]
            + "); its results stay in nrmp_program_results without an ACGME id",
            "snapshot": snap.snapshot_id if snap else "",
        }
    )
    return TABLES["unmatched_records"].coerce(rows)
