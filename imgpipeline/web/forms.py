"""The profile form: its fields (named by the profile's own dotted paths, so a ``ProfileError``
names the input to mark), their help text (the article's words where it helps), and the
mapping from submitted strings to the nested profile ``parse_profile`` checks.

Every check is ``parse_profile``'s: the form only drops empty inputs ("not stated") and nests
the dotted names; pydantic's lax mode reads "223" as 223 and "yes" as true.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

NOT_STATED = ""
YES_NO = (("yes", "yes"), ("no", "no"))


@dataclass(frozen=True)
class Field:
    name: str                    # dotted profile path: the input's name and id
    label: str
    kind: str = "number"         # number | text | select
    options: tuple[tuple[str, str], ...] = ()
    help: str = ""
    article: str = ""            # the article's words, quoted
    required: bool = False
    step: str = "1"
    not_stated: str = "not stated"   # the label of the empty choice / placeholder

    @property
    def id(self) -> str:
        return "f-" + self.name.replace(".", "-").replace("_", "-")


@dataclass(frozen=True)
class Group:
    legend: str
    fields: tuple[Field, ...]
    help: str = ""


GROUPS: tuple[Group, ...] = (
    Group("USMLE Step 1", (
        Field("step1.taken", "Step 1 taken", "select", YES_NO),
        Field("step1.passed", "Step 1 passed (last attempt)", "select", YES_NO,
              article="A fail followed by a pass is usually considered 'low' or a red flag"),
        Field("step1.score", "Step 1 score (numeric era only)", help="Leave empty in the pass/fail era.",
              article="Step 1 <=200 is often considered clearly low and may trigger filters"),
        Field("step1.attempts", "Step 1 attempts", help="How many times you sat Step 1 (default 1)."),
    ), help="Leave every Step 1 field at 'not stated' to say nothing about Step 1."),
    Group("USMLE Step 2 CK", (
        Field("step2ck.score", "Step 2 CK score (last attempt)", help="Leave empty if you have not taken Step 2 CK yet.",
              article="A strong Step 2 CK (e.g., >=235-240) can partially offset a low Step 1 or even a prior Step 1 attempt failure"),
        Field("step2ck.passed", "Step 2 CK passed (last attempt)", "select", YES_NO),
        Field("step2ck.attempts", "Step 2 CK attempts", help="Default 1."),
        Field("step2ck.year", "Year of the last Step 2 CK attempt",
              article="Any gap >2 years between graduation and Step 2 CK"),
    )),
    Group("USMLE Step 3", (
        Field("step3.taken", "Step 3 taken", "select", YES_NO, not_stated="not stated (counted as not taken)",
              help="Many H-1B programs require Step 3 passed."),
        Field("step3.passed", "Step 3 passed", "select", YES_NO),
        Field("step3.score", "Step 3 score"),
        Field("step3.attempts", "Step 3 attempts"),
    )),
    Group("Graduation and clinical experience", (
        Field("graduation_year", "Year of graduation from medical school", required=True, not_stated="required",
              article="More than 5 years since graduation (YOG >5)"),
        Field("usce.hands_on_months", "Hands-on US clinical experience (months)", step="0.5",
              help="Sub-internships, externships, rotations with notes and evaluations. Leave both USCE fields empty for 'not stated'; 0 is a statement.",
              article="Strong USCE is often the single most powerful way ..."),
        Field("usce.observership_months", "Observership-only months", step="0.5",
              article="Only observerships with no hands-on experience"),
        Field("recent_clinical_work", "Recent clinical work or training", "select", YES_NO,
              article="No recent clinical practice or training"),
        Field("unexplained_gaps", "Significant unexplained gaps", "select", YES_NO,
              article="Significant unexplained gaps in medical training or work"),
    )),
    Group("Letters, research, certification", (
        Field("us_im_letters", "Letters from US internal-medicine attendings",
              article="aim for at least two from U.S. internal medicine attendings"),
        Field("research_items", "Research items (abstracts, posters, publications, case reports)",
              article="Research is not mandatory for IM"),
        Field("ecfmg_certified", "ECFMG certified", "select", YES_NO,
              article="some programs require full ECFMG certification before interviewing"),
    )),
    Group("Visa and preferences", (
        Field("visa_need", "Visa needed", "select", (("none", "none"), ("J-1", "J-1"), ("H-1B", "H-1B"), ("either", "J-1 or H-1B")),
              not_stated="not stated (counted as none)",
              article="If you require H-1B only, your pool will shrink dramatically; consider being flexible with J-1 if possible"),
        Field("service_member", "US service member", "select", YES_NO, not_stated="not stated (counted as no)",
              help="Military programs are left out for civilians."),
        Field("preferred_states", "Preferred states or regions", "text",
              help="Two-letter state codes or Census regions (Northeast, Midwest, South, West), separated by commas, e.g. NY, NJ, Midwest. A preference ranks these first, never past an exclusion."),
        Field("budget_usd", "Budget for application fees (USD)", step="1"),
        Field("profile_id", "Profile id (optional)", "text",
              help="An opaque label for your files; never a name or e-mail (letters, digits, _ . : - only)."),
    )),
)

FIELDS: dict[str, Field] = {f.name: f for g in GROUPS for f in g.fields}
_BOOL = {"yes": True, "no": False, "true": True, "false": False}


@dataclass
class FormData:
    """Submitted values (as typed) and the nested profile they make."""

    values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> FormData:
        return cls({k: str(query[k]).strip() for k in FIELDS if k in query and str(query[k]).strip() != NOT_STATED})

    def profile(self) -> dict[str, Any]:
        """The nested mapping ``parse_profile`` reads; an empty input is left out (not stated)."""
        out: dict[str, Any] = {}
        for name, raw in self.values.items():
            f = FIELDS[name]
            value: Any = raw
            if f.kind == "select" and raw.lower() in _BOOL and f.options == YES_NO:
                value = _BOOL[raw.lower()]
            elif name == "preferred_states":
                value = [s for s in re.split(r"[,;\s]+", raw) if s]
            node = out
            *parents, leaf = name.split(".")
            for p in parents:
                node = node.setdefault(p, {})
            node[leaf] = value
        return out

    def query(self) -> dict[str, str]:
        return dict(self.values)


def profile_to_form(profile: Mapping[str, Any]) -> dict[str, str]:
    """A profile mapping (as in the docs' YAML examples) as form values: the inverse of
    ``FormData.profile`` (used by the tests and by links that prefill the form)."""
    out: dict[str, str] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, Mapping):
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
            return
        if node is None:
            return
        if isinstance(node, bool):
            out[prefix] = "yes" if node else "no"
        elif isinstance(node, list | tuple):
            out[prefix] = ", ".join(str(x) for x in node)
        else:
            out[prefix] = str(node)

    walk("", profile)
    return out
