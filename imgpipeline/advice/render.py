"""A recommendation for people: the terminal view (rich renderables), the same as plain lines
for a pipe or a log (rich not imported), and the size-curve plot (SVG written directly, so
nothing on an applicant's path imports a plotting library).

Text only: every number comes from the ``Recommendation``."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from imgpipeline.text import named_line, pct

if TYPE_CHECKING:
    from imgpipeline.advice.recommend import Recommendation

TIER_SHORT = {"community": "comm.", "mid_tier_academic_hybrid": "mid", "highly_competitive_academic": "elite"}


def count(x: float) -> str:
    """An expected count: one decimal, two below 1 (0.04 interviews is not 0.0)."""
    return f"{x:.1f}" if x >= 1 or x == 0 else f"{x:.2f}"


def outcome_line(o: Any) -> str:
    return (
        f"{o.n} programs -> about {count(o.expected_interviews)} interviews ({count(o.interviews_low)}-{count(o.interviews_high)}) "
        f"-> P(match) {pct(o.p_match)} ({pct(o.p_match_low)}-{pct(o.p_match_high)}); no interview at all: {pct(o.p_no_interview)}"
    )


def head_lines(rec: Recommendation) -> list[str]:
    """The summary above the list, one fact per line."""
    a = rec.assessment
    lines = [f"{a.label}  (profile {rec.profile_id or '-'}, published version {rec.version})"]
    for r in rec.readiness:
        lines.append(f"READINESS: {r.says}. The article ({r.section}): \"{r.article}\". {r.figures}")
    lines += [f"  - [{f.tier}] {f.says}  (rule: {f.rule})" for f in a.factors]
    lines += [f"  - [note] {f.says}" for f in a.notes]
    if not a.factors:
        lines.append("  - none of the article's risk factors")
    if rec.not_stated:
        lines.append(f"Not stated: {', '.join(rec.not_stated)}. Unknown counts as neither good nor bad; stating them may change your tier and chances.")
    s = rec.size
    lines.append(f"List: {s['why']}; {s['compared_with_article']} (the article for your tier: {a.list_size.text()}, {a.list_size.mix}).")
    if rec.outcome is not None:
        lines.append("Outcome: " + outcome_line(rec.outcome))
    c = rec.counts
    lines.append(f"Programs: {c['published']} published, {c['eligible']} open to you, {c['candidates']} qualify, {c['listed']} listed, {c['beyond_list']} more rank after the list.")
    fee = rec.fee
    lines.append(f"ERAS fee for {fee['programs']} IM programs: ${fee['usd']:,.0f} ({fee['season']}, schedule as of {fee['as_of']}); {fee['note']}.")
    lines += [f"Confirm: {p['says']}." for p in rec.policy_notes]
    lines += [f"Note: {n}." for n in rec.notes]
    lines.append("Sources: " + ", ".join(f"{k} as of {v}" for k, v in rec.sources.items()) + ".")
    return lines


CURVE_TITLE = "Applications -> expected interviews -> P(match)"
CURVE_HEADERS = ("programs", "interviews", "range", "P(match)", "P(match) range")
LIST_HEADERS = ("#", "program (state)", "tier", "IMG", "P(int.)", "band", "why; cautions")


def curve_rows(rec: Recommendation) -> list[list[str]]:
    """The size curve's rows as shown (the list's own size marked ``<``)."""
    return [
        [f"{o.n}{' <' if o.n == rec.size['programs'] else ''}", count(o.expected_interviews),
         f"{count(o.interviews_low)}-{count(o.interviews_high)}", pct(o.p_match), f"{pct(o.p_match_low)}-{pct(o.p_match_high)}"]
        for o in rec.size_curve
    ]


def list_title(rec: Recommendation, rows: int) -> str:
    return f"Your list: first {min(rows, rec.n_listed)} of {rec.n_listed}"


def list_rows(rec: Recommendation, rows: int) -> list[tuple[list[str], str]]:
    """The first ``rows`` programs of the list as shown: each row's cells but the last, and its
    cautions (the last cell is the why, then the cautions)."""
    out = []
    for r in rec.programs.head(rows).itertuples():
        share = f"{r.img_share:.2f}" + ("" if r.img_share_basis == "stated" else "~" if r.img_share_basis == "imputed" else "?")
        cells = [str(r.rank), f"{r.program_name} ({r.state}{'*' if r.preferred_state else ''})", TIER_SHORT[r.program_tier], share, pct(r.p_interview), r.band, r.why]
        out.append((cells, r.cautions or ""))
    return out


def foot_text(rec: Recommendation) -> str:
    bands = "; ".join(f"{k}: {v}" for k, v in rec.bands.items())
    return (
        "* preferred state; IMG share ~ imputed, ? unknown (counted at the median). P(int.): chance the program "
        f"interviews you. Why: odds multipliers against the typical applicant at the average program. Bands: {bands}. "
        "Every row's contributions with their evidence, the cautions and the provenance are in the files."
    )


def renderables(rec: Recommendation, rows: int = 25) -> list[Any]:
    """What ``imgpipeline recommend`` prints on a terminal: the summary, the size curve and the
    first ``rows`` programs of the list with their reasons (rich tables)."""
    from rich.table import Table as RichTable
    from rich.text import Text

    curve = RichTable(title=CURVE_TITLE, pad_edge=False)
    for col in CURVE_HEADERS:
        curve.add_column(col, justify="right")
    for row in curve_rows(rec):
        curve.add_row(*row)
    table = RichTable(title=list_title(rec, rows), pad_edge=False)
    for col, kw in zip(LIST_HEADERS, ({"justify": "right"}, {"ratio": 5, "overflow": "fold"}, {}, {"justify": "right"}, {"justify": "right"}, {}, {"ratio": 4, "overflow": "fold"}), strict=True):
        table.add_column(col, **kw)
    for cells, cautions in list_rows(rec, rows):
        why = Text(cells[-1])
        if cautions:
            why.append("; ").append(cautions, style="yellow")
        table.add_row(*cells[:-1], why)
    out = [Text("\n".join(head_lines(rec)) + "\n"), curve, table, Text(foot_text(rec), style="dim")]
    if rec.plan is not None:
        out.append(Text("\n" + "\n".join(plan_lines(rec))))
    return out


def plain_lines(rec: Recommendation, rows: int = 25) -> list[str]:
    """What ``imgpipeline recommend`` prints when its output is not a terminal (a pipe, a file,
    a log): the same as ``renderables``, each table row on one line with every value named
    (a drawn table wraps its cells at 80 columns), without rich."""
    lines = [*head_lines(rec), ""]
    lines += [named_line(CURVE_TITLE, CURVE_HEADERS, row) for row in curve_rows(rec)]
    title = list_title(rec, rows)
    for cells, cautions in list_rows(rec, rows):
        cells = [*cells[:-1], cells[-1] + (f"; {cautions}" if cautions else "")]
        lines.append(named_line(title, LIST_HEADERS, cells))
    lines.append(foot_text(rec))
    if rec.plan is not None:
        lines += ["", *plan_lines(rec)]
    return lines


def plan_lines(rec: Recommendation) -> list[str]:
    """Your next steps, after the list: each step, what it answers, the article's words with
    their section, the personal lines and what it would change (or that it cannot be sized)."""
    plan = rec.plan
    if plan is None:
        return []
    if not plan.steps:
        return ["Your next steps: none of the article's risk factors or readiness gaps fired, so it names no remedy for you."]
    lines = [f"Your next steps ({len(plan.steps)}; those the model can size first, by what they change):"]
    for i, s in enumerate(plan.steps, start=1):
        lines.append(f"{i}. {s.title}  (answers: {'; '.join(a['says'] for a in s.answers)})")
        for q in s.quotes:
            lines.append(f"   The article ({q['section']}): \"{q['text']}\"")
        lines += [f"   For you: {p}" for p in s.personal]
        for c in s.conditions:
            mark = {True: "holds", False: "does not hold", None: "cannot be checked here"}[c["holds"]]
            lines.append(f"   - \"{c['article']}\": {mark} ({c['checks']})")
        e = s.effect
        lines.append(f"   Would change: {e.change + ' -> ' if e.change else ''}{e.says}")
    return lines


def size_curve_svg(rec: Recommendation, width: int = 560, height: int = 300) -> str:
    """Applications -> P(match) (with its band) and expected interviews, as a standalone SVG."""
    pts = rec.size_curve
    left, right, top, bottom = 56, 56, 28, 40
    if not pts:
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img"><text x="10" y="20">No program qualifies: no curve.</text></svg>'
    n_max = max(o.n for o in pts)
    i_max = max(max(o.interviews_high for o in pts), 1.0)

    def x(n: float) -> float:
        return left + (width - left - right) * n / n_max

    def y(p: float) -> float:
        return top + (height - top - bottom) * (1 - p)

    def yi(v: float) -> float:
        return y(v / i_max)

    band = " ".join(f"{x(o.n):.1f},{y(o.p_match_high):.1f}" for o in pts) + " " + " ".join(f"{x(o.n):.1f},{y(o.p_match_low):.1f}" for o in reversed(pts))
    line = " ".join(f"{x(o.n):.1f},{y(o.p_match):.1f}" for o in pts)
    inter = " ".join(f"{x(o.n):.1f},{yi(o.expected_interviews):.1f}" for o in pts)
    chosen = rec.size["programs"]
    title = escape(f"Applications to expected interviews and P(match) for profile {rec.profile_id or '-'}")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-labelledby="t">',
        f'<title id="t">{title}</title>',
        f'<polygon points="{band}" fill="#9ecae1" opacity="0.5"/>',
        f'<polyline points="{line}" fill="none" stroke="#08519c" stroke-width="2"/>',
        f'<polyline points="{inter}" fill="none" stroke="#d94801" stroke-width="2" stroke-dasharray="5,3"/>',
        f'<line x1="{x(chosen):.1f}" y1="{top}" x2="{x(chosen):.1f}" y2="{height - bottom}" stroke="#444" stroke-dasharray="2,2"/>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="#000"/>',
        f'<text x="{width / 2:.0f}" y="{height - 8}" text-anchor="middle" font-size="12">programs applied to (your list: {chosen})</text>',
        f'<text x="12" y="{top - 10}" font-size="12" fill="#08519c">P(match), band shaded</text>',
        f'<text x="{width - 12}" y="{top - 10}" text-anchor="end" font-size="12" fill="#d94801">expected interviews (0-{i_max:.0f})</text>',
    ]
    for p in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<text x="{left - 6}" y="{y(p) + 4:.1f}" text-anchor="end" font-size="11">{p:.0%}</text>')
    for o in pts:
        parts.append(f'<text x="{x(o.n):.1f}" y="{height - bottom + 14}" text-anchor="middle" font-size="10">{o.n}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
