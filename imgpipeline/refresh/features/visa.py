"""Visa sponsorship: FREIDA's list of accepted visas, checked against the program's own words.

From the list: a program that lists some visa types states which it takes, so a type it
leaves out is stated as not sponsored. A program that lists none may sponsor none or may have
left the field empty: its types are inferred as not sponsored. A statement in the program's
text ("We do not sponsor visas", "H1-b visas are not offered", "Must be a US citizen to
apply") is the program's own word on the matter: it sets the value (stated, with the quote),
and where it contradicts the list, ``visa_conflicts`` reports the pair.
"""

from __future__ import annotations

import pandas as pd

from imgpipeline.refresh.features.frame import feature
from imgpipeline.refresh.features.policies import VISA_TYPES, Finding

VISA_FEATURES = {"J-1": "sponsors_j1", "H-1B": "sponsors_h1b", "F-1": "sponsors_f1"}
CONFLICT_COLUMNS = ["acgme_id", "field", "list_value", "text_value", "quote", "rule"]


def _list_reading(programs: pd.DataFrame, code: str) -> tuple[pd.Series, pd.Series, pd.Series]:
    """What FREIDA's list alone says about ``code``: value, basis, evidence per program."""
    listed = programs["visas_listed"]
    values, bases, evidence = [], [], []
    for text, in_freida in zip(listed, programs["in_freida"], strict=True):
        if not in_freida or text is None:
            values.append(None)
            bases.append("unknown")
            evidence.append("no FREIDA page")
            continue
        types = list(text)
        if types:
            values.append(code in types)
            bases.append("stated")
            evidence.append(f"FREIDA accepted visas: {', '.join(types)}")
        else:
            values.append(False)
            bases.append("inferred")
            evidence.append("FREIDA lists no visa type (none sponsored, or the field left empty)")
    idx = programs.index
    return pd.Series(values, idx, dtype=object), pd.Series(bases, idx), pd.Series(evidence, idx)


def _text_statements(findings: pd.Series) -> pd.Series:
    """Per program, the visa statement of its text: {code: (sponsored, quote, rule)}."""

    def merge(items: list[Finding]) -> dict[str, tuple[bool, str, str]]:
        said: dict[str, tuple[bool, str, str]] = {}
        for f in items:
            if f.policy == "visa":
                for code, ok in f.value.items():
                    said.setdefault(code, (ok, f.quote, f.rule))
        return said

    return findings.map(merge)


def visa_features(programs: pd.DataFrame, findings: pd.Series) -> tuple[dict[str, pd.DataFrame], pd.Series]:
    """``sponsors_j1``, ``sponsors_h1b``, ``sponsors_f1`` and a per-program flag that the
    text contradicts the list. ``findings`` holds each program's ``extract_policies``."""
    said = _text_statements(findings)
    out: dict[str, pd.DataFrame] = {}
    conflict = pd.Series(False, index=programs.index)
    for code in VISA_TYPES:
        value, basis, evidence = _list_reading(programs, code)
        text = said.map(lambda d, c=code: d.get(c))
        has_text = text.notna()
        for i in programs.index[has_text]:
            ok, quote, rule = text[i]
            if value[i] is not None and value[i] != ok:
                conflict[i] = True
                evidence[i] = f'program text: "{quote}" (overrides {evidence[i]})'
            else:
                evidence[i] = f'program text: "{quote}"' + (f" (agrees with {evidence[i]})" if value[i] is not None else "")
            value[i] = ok
            basis[i] = "stated"
        out[VISA_FEATURES[code]] = feature(programs.index, value, basis, "freida", evidence)
    return out, conflict


def visa_conflicts(programs: pd.DataFrame, findings: pd.Series | None = None) -> pd.DataFrame:
    """Programs whose text says otherwise than FREIDA's visa list: one row per program and
    visa field (acgme_id, field, list_value, text_value, quote, rule). ``list_value`` is
    ``listed`` / ``not listed`` / ``no visa listed``; ``text_value`` is ``sponsored`` /
    ``not sponsored``. For the ``conflicts`` table ("visa list vs program text")."""
    from imgpipeline.refresh.features.policies import extract_policies

    if findings is None:
        findings = programs["special_features_text"].map(extract_policies)
    said = _text_statements(findings)
    rows = []
    for i in programs.index:
        for code, (ok, quote, rule) in said[i].items():
            value, _, _ = _list_reading(programs.loc[[i]], code)
            listed = value[i]
            if listed is None or listed == ok:
                continue
            visas = programs.at[i, "visas_listed"]
            types = 0 if visas is None else len(visas)
            rows.append(
                {
                    "acgme_id": programs.at[i, "acgme_id"],
                    "field": VISA_FEATURES[code],
                    "list_value": ("listed" if listed else ("not listed" if types else "no visa listed")),
                    "text_value": "sponsored" if ok else "not sponsored",
                    "quote": quote,
                    "rule": rule,
                }
            )
    return pd.DataFrame(rows, columns=CONFLICT_COLUMNS)
