"""Stated policies read from a program's own words (FREIDA's ``special_features_text``).

Each pattern was written from the real sentences of the 2025 FREIDA snapshot (about 530
programs write a text, capped by the scrape at 500 characters) and from the article's own
examples, and is tested on sentences that must match and on look-alikes that must not
("graduated autonomy", "our graduates", "heart failure", "holistic curriculum"). A pattern
reads one sentence at a time, and the sentence is kept as the evidence quote.

Most programs state none of these policies: their basis is unknown, never false.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

POLICIES = (
    "yog_limit",
    "visa",
    "usce",
    "ecfmg_required",
    "failed_attempts",
    "holistic_review",
    "imgs_welcome",
)
VISA_TYPES = ("J-1", "H-1B", "F-1")

_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}
_N = r"(?P<n>\d{1,2}|" + "|".join(_NUMBER_WORDS) + r")"
_US = r"(?:U\.?\s?S\.?|US|United\s+States|American)"
_VISA = r"(?:H-?1-?B|J-?1|F-?1)"
_REQUIRED_WORDS = re.compile(r"\b(?:required|requires?|mandatory|necessary|must|a\s+must)\b", re.I)
_PREFERRED_WORDS = re.compile(r"\bprefer(?:red|ence|s)?\b", re.I)


@dataclass(frozen=True)
class Finding:
    """One stated policy: what it says (``value``), the sentence it says it in, and which
    pattern read it."""

    policy: str
    value: Any
    quote: str
    rule: str


def _c(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I)


def _number(text: str) -> int:
    text = text.lower()
    return _NUMBER_WORDS[text] if text in _NUMBER_WORDS else int(text)


def visa_code(text: str) -> str:
    """``H1-b`` / ``H-1B`` / ``h1b`` -> ``H-1B``; ``J1`` -> ``J-1``; ``F1`` -> ``F-1``."""
    letter = text.strip()[0].upper()
    return {"H": "H-1B", "J": "J-1", "F": "F-1"}[letter]


# --- Sentences ---------------------------------------------------------------------------------

_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])|\s*\n+\s*|\s+-\s+(?=[A-Z])")
# A fragment ending like these was cut at an abbreviation, not at a sentence end.
_ABBREV_END = re.compile(r"(?:\b(?:[A-Z]\.){1,3}|\b(?:Dr|St|Mt|Ft|vs|etc|No|Inc|Jr|Sr)\.)$")


def sentences(text: str) -> list[str]:
    """The text's sentences, abbreviation-aware ("6 months of U.S. clinical experience is
    preferred" stays one sentence)."""
    out: list[str] = []
    for part in _SPLIT.split(text):
        part = part.strip()
        if not part:
            continue
        if out and _ABBREV_END.search(out[-1]):
            out[-1] = f"{out[-1]} {part}"
        else:
            out.append(part)
    return out


# --- Patterns, by policy -----------------------------------------------------------------------
# Each entry: (rule name, pattern). A policy's reader turns a match into a value.

YOG_LIMIT = [
    (
        "graduation_within_n_years",
        _c(
            r"\b(?:year\s+of\s+graduation|graduation\s+year|YOG|graduation|graduated|"
            r"medical\s+school\s+graduates?|recent\s+graduates?)\b[^.;]{0,40}?"
            r"\b(?:within|no\s+more\s+than|not\s+more\s+than|less\s+than|under|up\s+to)\s+"
            r"(?:the\s+)?(?:last\s+|past\s+)?" + _N + r"\s+years?\b"
        ),
    ),
    (
        "within_n_years_of_graduation",
        _c(
            r"\b(?:within|no\s+more\s+than|not\s+more\s+than|less\s+than|up\s+to|maximum\s+of|"
            r"at\s+most)\s+" + _N + r"\s+years?\s+(?:of|since|from|after)\s+(?:their\s+|your\s+)?"
            r"(?:medical\s+school\s+)?graduation\b"
        ),
    ),
]
YOG_NO_LIMIT = [
    (
        "no_yog_cutoff",
        _c(
            r"\b(?:no|without\s+(?:a|any))\s+(?:YOG|year[- ]of[- ]graduation|graduation[- ]year)\s+"
            r"(?:cut-?offs?|limits?|restrictions?|requirements?)\b"
        ),
    ),
    (
        "no_cutoff_on_yog",
        _c(
            r"\b(?:no|without\s+(?:a|any))\s+(?:cut-?offs?|limits?|restrictions?)\s+on\s+(?:the\s+)?"
            r"(?:year\s+of\s+graduation|graduation\s+year|YOG)\b"
        ),
    ),
    (
        "regardless_of_yog",
        _c(r"\bregardless\s+of\s+(?:the\s+)?(?:year\s+of\s+graduation|graduation\s+year|YOG)\b"),
    ),
]

# Visa statements: the value is {visa code: sponsored?}.
VISA_NONE = [
    (
        "we_do_not_sponsor_visas",
        _c(
            r"\b(?:we|the\s+program|this\s+program|our\s+program)\s+(?:does|do|will|can)\s*(?:not|n't)\s+"
            r"(?:sponsor|offer|support|accept|provide)\s+(?:any\s+)?(?:visas?|visa\s+sponsorship)\b"
        ),
    ),
    ("no_visa_sponsorship", _c(r"\bno\s+visa\s+sponsorship\b")),
    (
        "visa_sponsorship_not_available",
        _c(r"\bvisa\s+sponsorship\s+(?:is\s+)?not\s+(?:available|offered|provided)\b"),
    ),
    ("unable_to_sponsor_visas", _c(r"\bunable\s+to\s+sponsor\s+(?:any\s+)?visas?\b")),
    # "visas are not offered" with no visa type right before it (that is a per-type statement)
    (
        "visas_are_not_offered",
        _c(r"(?<!b\s)(?<!1\s)\bvisas\s+are\s+not\s+(?:sponsored|offered|accepted|available)\b"),
    ),
    (
        "us_citizens_only",
        _c(
            r"\bmust\s+be\s+(?:a\s+)?" + _US + r"\s+citizens?(?:\s+or\s+(?:a\s+)?(?:" + _US
            + r"\s+)?(?:permanent\s+residents?|green\s+card\s+holders?))?\s+to\s+(?:apply|be\s+considered)\b"
        ),
    ),
    (
        "only_citizens_considered",
        _c(
            r"\bonly\s+(?:" + _US + r"\s+)?citizens(?:\s+(?:and|or)\s+(?:permanent\s+residents|green\s+card\s+holders))?"
            r"\s+(?:are|will\s+be)\s+(?:considered|accepted|eligible)\b"
        ),
    ),
]
VISA_TYPE_NOT = [
    (
        "type_visas_not_offered",
        _c(
            r"\b(?P<type>" + _VISA + r")\s+visas?\s+(?:are|is)\s+not\s+"
            r"(?:offered|sponsored|accepted|available|supported)\b"
        ),
    ),
    (
        "we_do_not_sponsor_type",
        _c(
            r"\b(?:we|the\s+program|this\s+program|our\s+program)\s+(?:does|do|will|can)\s*(?:not|n't)\s+"
            r"(?:sponsor|offer|accept|support)\s+(?P<type>" + _VISA + r")\b"
        ),
    ),
    ("no_type_sponsorship", _c(r"\bno\s+(?P<type>" + _VISA + r")\s+(?:visas?|sponsorship)\b")),
    (
        "type_sponsorship_not_available",
        _c(
            r"\b(?P<type>" + _VISA + r")\s+(?:visa\s+)?sponsorship\s+(?:is\s+)?not\s+"
            r"(?:available|offered|provided)\b"
        ),
    ),
]
VISA_TYPE_ONLY = [
    (
        "sponsor_only_type",
        _c(r"\b(?:only\s+sponsor|sponsor\s+only|only\s+accept|accept\s+only)\s+(?P<type>" + _VISA + r")\s+visas?\b"),
    ),
    ("type_visas_only", _c(r"\b(?P<type>" + _VISA + r")\s+visas?\s+only\b")),
]
VISA_TYPE_YES = [
    (
        "we_sponsor_type",
        _c(
            r"\b(?:we|the\s+program|this\s+program|our\s+program)\s+(?:sponsor|accept|offer|support)s?\s+"
            r"(?:both\s+)?(?P<type>" + _VISA + r")(?:\s*(?:and|&|/|,|or)\s*(?P<type2>" + _VISA + r"))?"
            r"\s+visas?\b"
        ),
    ),
]

USCE = [
    (
        "n_months_usce",
        _c(
            _N.replace("<n>", "<months>") + r"\+?\s+months?\s+(?:of\s+)?(?:hands[- ]on\s+)?" + _US
            + r"\s+clinical\s+experience\b[^.;]{0,30}?\b(?P<kind>required|preferred|recommended|"
            r"encouraged|necessary|mandatory)\b"
        ),
    ),
    (
        "usce_is_kind",
        _c(
            r"\b(?:" + _US + r"\s+clinical\s+experience(?:\s+\(USCE\))?|USCE)\s+(?:is|are)\s+"
            r"(?:strongly\s+|highly\s+)?(?P<kind>required|preferred|recommended|encouraged|mandatory|"
            r"necessary|a\s+must)\b"
        ),
    ),
    (
        "kind_usce",
        _c(
            r"\b(?P<kind>require|requires|required|prefer|prefers|preferred)\b[^.;]{0,40}?"
            r"(?:" + _N.replace("<n>", "<months>") + r"\+?\s+months?\s+of\s+)?"
            r"\b(?:" + _US + r"\s+clinical\s+experience|USCE)\b"
        ),
    ),
    (
        "audition_rotations",
        _c(
            r"\b(?:audition|away)\s+rotations?\s+(?:(?:are|is)\s+)?(?:highly\s+|strongly\s+)?"
            r"(?P<kind>recommended|required|preferred|encouraged)\b"
        ),
    ),
]

ECFMG_REQUIRED = [
    (
        "imgs_must_be_ecfmg_certified",
        _c(
            r"\b(?:IMG|IMGs|IMG's|IMG’s|international\s+(?:medical\s+)?(?:graduates|applicants)|"
            r"applicants|candidates)\s+must\s+(?:be|have\s+been)\s+(?:ECFMG[- ]certified|"
            r"certified\s+by\s+(?:the\s+)?ECFMG)\b"
        ),
    ),
    ("ecfmg_certification_required", _c(r"\bECFMG\s+certification\s+(?:is\s+)?(?:required|mandatory|necessary)\b")),
    (
        "must_have_ecfmg_certificate",
        _c(
            r"\b(?:must\s+(?:have|hold|possess)|requires?|required)\s+(?:a\s+|an\s+)?"
            r"(?:valid\s+|full\s+|current\s+)?ECFMG\s+certific(?:ate|ation)\b"
        ),
    ),
    ("ecfmg_certified_before", _c(r"\bECFMG[- ]certified\s+(?:before|prior\s+to|by\s+the\s+time)\b")),
]

FAILED_ATTEMPTS = [
    (
        "do_not_consider_failures",
        _c(
            r"\b(?:do|does|will|can)\s*(?:not|n't)\s+(?:consider|accept|interview|rank)\s+(?:any\s+)?"
            r"(?:applicants?|candidates?|those|anyone)\s+(?:who\s+(?:have|has)\s+)?(?:with\s+)?"
            r"(?:a\s+|any\s+)?(?:fail(?:ed|ures?)?|multiple\s+attempts|more\s+than\s+one\s+attempt)"
        ),
    ),
    ("no_failures", _c(r"\bno\s+(?:prior\s+)?(?:USMLE\s+|COMLEX\s+|board\s+)?(?:exam\s+)?(?:failures|failed\s+attempts)\b")),
    (
        "first_attempt_required",
        _c(
            r"\b(?:must\s+have\s+)?pass(?:ed|es|ing)?\b[^.;]{0,60}?\bon\s+(?:the\s+)?first\s+attempt\b"
            r"|\bfirst[- ]attempt\s+pass(?:es)?\b"
        ),
    ),
    (
        "failures_considered",
        _c(
            r"\b(?:will|do|does|may)\s+consider\s+(?:applicants|candidates)\s+(?:with|who\s+have)\s+"
            r"(?:a\s+)?(?:prior\s+)?(?:failed\s+attempts?|failures?|(?:USMLE|exam)\s+failures?|"
            r"more\s+than\s+one\s+attempt|multiple\s+attempts)"
            r"|\bfailed\s+attempts?\s+(?:are|is|will\s+be)\s+considered\b"
        ),
    ),
]

HOLISTIC = [
    (
        "holistic_review",
        _c(
            r"\bholistic(?:ally)?\s+(?:review|reviews|(?:application|applicant)\s+review|selection|"
            r"evaluation\s+of\s+(?:applica\w+|candidates)|approach\s+to\s+(?:the\s+)?(?:review|selection|"
            r"applica\w+|recruitment))\b"
        ),
    ),
    (
        "review_holistically",
        _c(
            r"\b(?:review|evaluate|consider|read)\w*\s+(?:each\s+|every\s+|all\s+)?"
            r"(?:applications?|applicants?|candidates?)\s+holistically\b"
        ),
    ),
    (
        "whole_applicant",
        _c(r"\bconsider\w*\s+the\s+(?:whole|entire)\s+(?:applicant|application|candidate)\b"),
    ),
]

IMGS_WELCOME = [
    (
        "us_and_international_schools_welcome",
        _c(
            r"\b(?:graduates|applicants|candidates|applications)\s+from\s+(?:both\s+)?(?:" + _US
            + r"|domestic)\s+and\s+(?:international|foreign)\s+medical\s+schools\s+are\s+"
            r"(?:welcome|encouraged)"
        ),
    ),
    (
        "we_welcome_from_us_and_international",
        _c(
            r"\bwe\s+welcome\b[^.;]{0,60}?\bfrom\s+(?:both\s+)?(?:" + _US + r")\s+and\s+"
            r"(?:international|foreign)\s+medical\s+schools\b"
        ),
    ),
    (
        "imgs_welcome",
        _c(
            r"\b(?:IMGs?|international\s+medical\s+graduates|foreign\s+medical\s+graduates|FMGs?)\s+"
            r"(?:are\s+)?(?:welcome|(?:strongly\s+)?encouraged\s+to\s+apply)\b"
        ),
    ),
    (
        "we_welcome_imgs",
        _c(
            r"\bwe\s+(?:welcome|encourage|accept)\s+(?:applications\s+from\s+)?(?:IMGs?|"
            r"international\s+medical\s+graduates|foreign\s+medical\s+graduates)\b"
        ),
    ),
    (
        "welcome_trainees_from_the_world",
        _c(
            r"\bwelcome\s+(?:trainees|residents|applicants|graduates)\s+from\b[^.;]{0,60}?"
            r"\b(?:globe|world|international\s+medical\s+schools|other\s+countries)\b"
        ),
    ),
]
IMGS_NOT_ACCEPTED = [
    (
        "osteopathic_education_required",
        _c(r"\bmust\s+have\s+(?:prior\s+)?osteopathic\s+(?:medical\s+)?(?:education|training|degree)\b"),
    ),
    (
        "do_not_accept_imgs",
        _c(
            r"\b(?:do|does|will|can)\s*(?:not|n't)\s+(?:accept|consider)\s+(?:applications\s+from\s+)?"
            r"(?:IMGs?|international\s+medical\s+graduates|foreign\s+medical\s+graduates|FMGs?)\b"
        ),
    ),
    (
        "imgs_not_accepted",
        _c(
            r"\b(?:IMGs?|international\s+medical\s+graduates|foreign\s+medical\s+graduates)\s+"
            r"(?:are\s+)?not\s+(?:accepted|considered|eligible)\b"
        ),
    ),
    (
        "only_us_schools",
        _c(
            r"\bonly\s+(?:accept|consider)s?\s+(?:applications\s+from\s+)?(?:graduates\s+of\s+)?"
            r"(?:U\.?\s?S\.?|LCME|US|AOA)[- ](?:accredited\s+)?(?:medical\s+schools|MDs?|DOs?|graduates)"
        ),
    ),
]

# Sentences about the program's own graduates, outcomes or board results: never a policy on
# applicants, whatever else they say.
_ABOUT_OUTCOMES = _c(r"\b(?:our|its|the\s+program's)\s+(?:graduates|residents|alumni)\b|\bboard\s+pass|\bABIM\b")


def _kind(word: str) -> str:
    return "required" if re.match(r"(?i)requir|mandatory|necessary|a\s+must", word) else "preferred"


def _read_sentence(sentence: str) -> list[Finding]:
    """Every policy one sentence states, each with the rule that read it."""
    readers = (_yog_finding, _visa_finding, _usce_finding, _ecfmg_finding, _failures_finding, _holistic_finding, _welcome_finding)
    found = []
    for read in readers:
        hit = read(sentence)
        if hit is not None:
            policy, value, rule = hit
            found.append(Finding(policy, value, sentence, rule))
    return found


Hit = tuple[str, Any, str] | None  # (policy, value, rule) read from a sentence, or nothing


def _first(rules: Any, sentence: str) -> tuple[str, re.Match[str]] | None:
    """The first (rule, match) of ``rules`` found in the sentence."""
    for rule, pat in rules:
        if m := pat.search(sentence):
            return rule, m
    return None


def _yog_finding(sentence: str) -> Hit:
    if hit := _first(YOG_NO_LIMIT, sentence):
        return "yog_limit", {"years": None, "strictness": "no_limit"}, hit[0]
    if _ABOUT_OUTCOMES.search(sentence):
        return None
    if hit := _first(YOG_LIMIT, sentence):
        strictness = "preferred" if _PREFERRED_WORDS.search(sentence) else "required"
        return "yog_limit", {"years": _number(hit[1]["n"]), "strictness": strictness}, hit[0]
    return None


def _visa_finding(sentence: str) -> Hit:
    visa: dict[str, bool] = {}
    visa_rules: list[str] = []
    if hit := _first(VISA_NONE, sentence):
        visa.update(dict.fromkeys(VISA_TYPES, False))
        visa_rules.append(hit[0])
    if hit := _first(VISA_TYPE_ONLY, sentence):
        only = visa_code(hit[1]["type"])
        visa.update({v: v == only for v in VISA_TYPES})
        visa_rules.append(hit[0])
    for rule, pat in VISA_TYPE_NOT:
        for m in pat.finditer(sentence):
            visa[visa_code(m["type"])] = False
            visa_rules.append(rule)
    for rule, pat in VISA_TYPE_YES:
        for m in pat.finditer(sentence):
            for g in ("type", "type2"):
                if m[g]:
                    visa.setdefault(visa_code(m[g]), True)
            visa_rules.append(rule)
    return ("visa", visa, "+".join(dict.fromkeys(visa_rules))) if visa else None


def _usce_finding(sentence: str) -> Hit:
    if not (hit := _first(USCE, sentence)):
        return None
    rule, m = hit
    months = m.groupdict().get("months")
    if months is None:
        any_months = re.search(_N + r"\+?\s+months?\b", sentence, re.I)
        months = any_months["n"] if any_months else None
    return "usce", {"kind": _kind(m["kind"]), "months": _number(months) if months else None}, rule


def _ecfmg_finding(sentence: str) -> Hit:
    hit = _first(ECFMG_REQUIRED, sentence)
    return ("ecfmg_required", True, hit[0]) if hit else None


def _failures_finding(sentence: str) -> Hit:
    if _ABOUT_OUTCOMES.search(sentence) or not (hit := _first(FAILED_ATTEMPTS, sentence)):
        return None
    rule = hit[0]
    if rule == "failures_considered":
        return "failed_attempts", "considered", rule
    if rule == "first_attempt_required":
        required = _REQUIRED_WORDS.search(sentence) or re.search(r"\bonly\b", sentence, re.I)
        return ("failed_attempts", "first_attempt_required", rule) if required else None
    return "failed_attempts", "not_considered", rule


def _holistic_finding(sentence: str) -> Hit:
    hit = _first(HOLISTIC, sentence)
    return ("holistic_review", True, hit[0]) if hit else None


def _welcome_finding(sentence: str) -> Hit:
    if hit := _first(IMGS_NOT_ACCEPTED, sentence):
        return "imgs_welcome", False, hit[0]
    if hit := _first(IMGS_WELCOME, sentence):
        return "imgs_welcome", True, hit[0]
    return None


def extract_policies(text: object) -> list[Finding]:
    """Every stated policy in one program's text, in reading order ([] for no text)."""
    if not isinstance(text, str) or not text.strip():
        return []
    return [f for s in sentences(text) for f in _read_sentence(s)]


def first_finding(findings: list[Finding], policy: str) -> Finding | None:
    """The finding a feature uses for ``policy``: a restriction outranks a welcome (one
    program saying both is read as restricting), otherwise the first in the text."""
    hits = [f for f in findings if f.policy == policy]
    if not hits:
        return None
    if policy == "imgs_welcome":
        hits.sort(key=lambda f: f.value is not False)
    return hits[0]


# --- Features ----------------------------------------------------------------------------------

# feature name -> (policy, how a finding becomes the value, what "nothing stated" is about)
POLICY_FEATURES: dict[str, tuple[str, Any, str]] = {
    "usce_policy": ("usce", lambda v: v["kind"], "US clinical experience"),
    "usce_months": ("usce", lambda v: v["months"], "months of US clinical experience"),
    "ecfmg_required": ("ecfmg_required", lambda v: v, "ECFMG certification"),
    "failed_attempts_policy": ("failed_attempts", lambda v: v, "failed USMLE attempts"),
    "holistic_review": ("holistic_review", lambda v: v, "holistic review"),
    "imgs_welcome": ("imgs_welcome", lambda v: v, "IMG applicants"),
}


def policy_features(programs: Any, findings: Any) -> dict[str, Any]:
    """One feature frame per stated policy: the value the program's text states (basis
    stated, the sentence as evidence), or unknown where it states nothing."""
    from imgpipeline.refresh.features.frame import feature

    has_text = programs["special_features_text"].notna()
    out = {}
    for name, (policy, read, about) in POLICY_FEATURES.items():
        values, bases, evidence = [], [], []
        for items, text in zip(findings, has_text, strict=True):
            f = first_finding(items, policy)
            value = read(f.value) if f is not None else None
            if value is not None:
                values.append(value)
                bases.append("stated")
                evidence.append(f'program text ({f.rule}): "{f.quote}"')
            else:
                values.append(None)
                bases.append("unknown")
                evidence.append(
                    f"the program's text states nothing on {about}" if text else "no program text"
                )
        out[name] = feature(programs.index, values, bases, "freida", evidence)
    return out
