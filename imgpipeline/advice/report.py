"""One page an applicant can keep: ``imgpipeline recommend PROFILE --report report.html``.

Static HTML with no external asset (inline CSS, the size-curve plot as inline SVG from
``render.size_curve_svg``), rendered with jinja2 from ``templates/report.html.j2`` (autoescaped:
every value from a profile or the data is escaped). Every number comes from the
``Recommendation``: tier and factors, readiness, the size curve, the list with its reasons, the
plan (your next steps), sources and dates.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from imgpipeline.advice.render import outcome_line, size_curve_svg

if TYPE_CHECKING:
    from imgpipeline.advice.recommend import Recommendation

TEMPLATE = "report.html.j2"
CONDITION = {True: "holds for you", False: "does not hold for you", None: "cannot be checked here"}


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("imgpipeline.advice", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda x: f"{x:.0%}" if x >= 0.01 or x == 0 else f"{x:.1%}"
    return env


def report_html(rec: Recommendation, rows: int | None = None) -> str:
    """The report as one HTML string (``rows``: programs shown; default the whole list)."""
    programs = rec.programs if rows is None else rec.programs.head(rows)
    return _env().get_template(TEMPLATE).render(
        rec=rec,
        a=rec.assessment,
        outcome=outcome_line(rec.outcome) if rec.outcome is not None else None,
        svg=Markup(size_curve_svg(rec)),
        programs=list(programs.itertuples()),
        plan=rec.plan,
        condition=CONDITION,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def write_report(rec: Recommendation, path: str | Path, rows: int | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report_html(rec, rows), encoding="utf-8")
    return path
