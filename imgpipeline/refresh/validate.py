"""The validation gate: a Great Expectations suite made from each table's declaration.

Great Expectations takes seconds to import, so it is imported here only, and only when a
validation runs; the paths an applicant waits on never import this module.
"""

from __future__ import annotations

import copy
import datetime
import functools
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from imgpipeline.declare import EMAIL_PATTERN, GX_TYPES, PHONE_PATTERN, PROVENANCE, Table
from imgpipeline.errors import Failure, ValidationFailed

log = logging.getLogger(__name__)

CONTACT_PATTERN = f"{EMAIL_PATTERN}|{PHONE_PATTERN}"


@dataclass
class TableReport:
    """What one table's suite found."""

    table: str
    source: str
    rows: int
    evaluated: int
    failures: list[Failure] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return not self.failures


def _gx() -> Any:
    import great_expectations as gx

    # Every ephemeral context logs "Created temporary directory ... for ephemeral docs site"
    # (a folder it deletes at once): twice per refresh, and nothing to act on.
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
    return gx


def build_expectations(table: Table, columns: list[str] | None = None) -> list[Any]:
    """The expectations a table's declaration implies. ``columns``: those present in the frame
    (all declared ones by default). A declared column that is missing gets its existence check,
    which is what fails; a present one gets its value checks, which need it to exist (an
    existence check of a column known to be there could not fail, and GX's cost is per
    expectation)."""
    E = _gx().expectations
    present = set(columns) if columns is not None else set(table.column_names)
    out: list[Any] = []
    for c in table.columns:
        if c.name not in present:
            out.append(E.ExpectColumnToExist(column=c.name))
            continue
        out.append(E.ExpectColumnValuesToBeOfType(column=c.name, type_=GX_TYPES[c.dtype]))
        if not c.nullable or (table.published and c.source == PROVENANCE):
            # A published row traces to its snapshot: its provenance is never missing.
            out.append(E.ExpectColumnValuesToNotBeNull(column=c.name))
        if c.unique:
            out.append(E.ExpectColumnValuesToBeUnique(column=c.name))
        if c.min is not None or c.max is not None:
            out.append(
                E.ExpectColumnValuesToBeBetween(
                    column=c.name, min_value=c.min, max_value=c.max
                )
            )
        if c.allowed is not None:
            out.append(E.ExpectColumnValuesToBeInSet(column=c.name, value_set=list(c.allowed)))
        if c.pattern is not None:
            out.append(E.ExpectColumnValuesToMatchRegex(column=c.name, regex=c.value_regex))
        if table.contact_checked(c):
            out.append(E.ExpectColumnValuesToNotMatchRegex(column=c.name, regex=CONTACT_PATTERN))
    if len(table.key) > 1 and all(k in present for k in table.key):
        out.append(E.ExpectCompoundColumnsToBeUnique(column_list=list(table.key)))
    if table.min_rows is not None or table.max_rows is not None:
        out.append(
            E.ExpectTableRowCountToBeBetween(min_value=table.min_rows, max_value=table.max_rows)
        )
    return out


class Gate:
    """Runs declared suites in one in-memory GX context, keeping every validation result so
    that ``build_data_docs`` can render a run's results as Great Expectations' HTML Data Docs.
    An ephemeral context: a file-backed one writes every suite and result to disk as it goes
    (slower, and a project folder per run) when only the rendered pages are kept."""

    def __init__(self) -> None:
        gx = _gx()
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.context = gx.get_context(mode="ephemeral")
        # GX draws a tqdm bar per suite on stderr: noise in a refresh's console and logs.
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.source = self.context.data_sources.add_or_update_pandas("imgpipeline")
        self.results: list[Any] = []

    def run(
        self, df: pd.DataFrame, table: Table, source: str, run_name: str | None = None
    ) -> TableReport:
        """Validate ``df`` against ``table``'s suite. With ``run_name`` the result is kept,
        tagged, for that run's Data Docs (``take_results``)."""
        gx = _gx()
        from great_expectations.core.run_identifier import RunIdentifier

        try:
            asset = self.source.get_asset(table.name)
        except LookupError:
            asset = self.source.add_dataframe_asset(table.name)
        batch = _batch_definition(asset).get_batch(batch_parameters={"dataframe": df})
        # The suite is validated as it stands, never added to the context: stored suites and
        # validation definitions are serialised at every change and every result written to
        # the context's store (a third of the time of a table's validation; only a run's Data
        # Docs keep results, and they come from ``self.results``).
        suite = gx.ExpectationSuite(name=table.name, expectations=build_expectations(table, list(df.columns)))
        keys = [k for k in table.key if k in df.columns]
        # BASIC (observed values, unexpected counts and a sample) costs half of COMPLETE,
        # which finds every failing row by the table's key: only a failed suite is run again
        # with it, so that its failures name their rows.
        result = batch.validate(suite, result_format="BASIC")
        if not result.success:
            fmt = _complete_format(keys + ([table.locator] if table.locator in df.columns else []))
            result = batch.validate(suite, result_format=fmt)
        run_id = RunIdentifier(run_name=run_name, run_time=datetime.datetime.now(datetime.UTC))
        result.meta.update(run_id=run_id, validation_time=run_id.run_time)
        result.meta["imgpipeline_source"] = source
        result.meta["imgpipeline_rows"] = len(df)
        if run_name is not None:
            self.results.append(result)
        report = TableReport(table.name, source, len(df), len(result.results))
        for r in result.results:
            if not r.success:
                report.failures.append(_failure(r, table, source, keys, table.locator))
        log.info(
            "validated %s: %d rows, %d checks, %d failed",
            table.name,
            len(df),
            report.evaluated,
            len(report.failures),
        )
        return report

    def take_results(self, run_name: str | None) -> list[Any]:
        """The results tagged ``run_name`` (all, for None), removed from the gate so a
        long-lived process does not keep every run's results."""
        mine = [r for r in self.results if run_name is None or _run_name(r) == run_name]
        taken = {id(r) for r in mine}
        self.results = [r for r in self.results if id(r) not in taken]
        return mine


@functools.lru_cache(maxsize=1)
def default_gate() -> Gate:
    """One in-memory GX context per process: importing GX takes seconds."""
    return Gate()


def _complete_format(index_cols: list[str]) -> dict[str, Any]:
    """GX's COMPLETE result format, naming unexpected rows by ``index_cols`` (key, locator)."""
    fmt: dict[str, Any] = {"result_format": "COMPLETE", "include_unexpected_rows": False}
    if index_cols:
        fmt["unexpected_index_column_names"] = index_cols
    return fmt


def _run_name(result: Any) -> str | None:
    run_id = result.meta.get("run_id")
    return getattr(run_id, "run_name", None)


def _batch_definition(asset: Any) -> Any:
    try:
        return asset.get_batch_definition("whole")
    except (KeyError, LookupError):
        return asset.add_batch_definition_whole_dataframe("whole")


DOCS_SITE = "imgpipeline"


def _store_result(context: Any, result: Any) -> dict[str, Any]:
    """One validation result into the context's store, and its line of the offline index."""
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    batch = result.meta.get("active_batch_definition") or {}
    identifier = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=result.suite_name),
        run_id=result.meta["run_id"],
        batch_identifier=(
            f"{batch.get('datasource_name', 'imgpipeline')}-"
            f"{batch.get('data_asset_name', result.suite_name)}"
        ),
    )
    context.validation_results_store.store_validation_results(
        suite_validation_result=result,
        suite_validation_result_identifier=identifier,
    )
    stats = result.statistics
    return {
        "suite": result.suite_name,
        "source": result.meta.get("imgpipeline_source", ""),
        "success": bool(result.success),
        "evaluated": stats.get("evaluated_expectations", len(result.results)),
        "failed": stats.get("unsuccessful_expectations", 0),
        "rows": result.meta.get("imgpipeline_rows", ""),
        "run_time": result.meta["run_id"].run_time.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "page": "validations/" + "/".join(str(p) for p in identifier.to_tuple()) + ".html",
    }


def build_data_docs(results: list[Any], out_dir: Path) -> Path:
    """Render validation results as Great Expectations' HTML Data Docs in ``out_dir``
    (``out_dir/index.html``): one page per validated table with every expectation, its
    outcome and observed values, and one page per suite.

    A fresh in-memory context holds only these results and their suites, so the site shows
    this run alone; the site is a plain folder that can sit inside a published version and
    opens offline (``imgpipeline.refresh.data_docs``: no CDN assets, statuses as text, a static
    index). GX copies ~4 MB of static assets of which the pages use a favicon; files under
    ``static/`` that no page references are removed."""
    gx = _gx()
    from imgpipeline.refresh.data_docs import make_offline

    out_dir.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="ephemeral")
    context.add_data_docs_site(
        DOCS_SITE,
        {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(out_dir),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    suites: dict[str, Any] = {}
    for result in results:
        suites[result.suite_name] = gx.ExpectationSuite(
            name=result.suite_name,
            expectations=[copy.copy(r.expectation_config.to_domain_obj()) for r in result.results],
        )
    for suite in suites.values():
        context.suites.add(suite)
    listed = [_store_result(context, result) for result in results]
    context.build_data_docs(site_names=[DOCS_SITE])
    missing = [v["page"] for v in listed if not (out_dir / v["page"]).exists()]
    if missing:
        raise RuntimeError(f"Great Expectations wrote no Data Docs page for {missing} in {out_dir}")
    index = make_offline(out_dir, listed, list(suites))
    _prune_static(out_dir)
    return index


def _prune_static(site: Path) -> None:
    """Delete files under ``site/static`` that no page of the site links to."""
    static = site / "static"
    if not static.is_dir():
        return
    used: set[Path] = set()
    for page in site.rglob("*.html"):
        for link in re.findall(r"""(?:href|src)=["']([^"'#?]+)""", page.read_text()):
            if "://" not in link:
                used.add((page.parent / link).resolve())
    for path in sorted(static.rglob("*"), reverse=True):
        if path.is_file() and path.resolve() not in used:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


_PLAIN = {
    "column_to_exist": "the column is missing",
    "column_values_to_be_unique": "values repeat",
    "column_values_to_not_be_null": "values are missing",
    "column_values_to_not_match_regex": "contact data (e-mail or phone) found",
}


def _failure(r: Any, table: Table, source: str, keys: list[str], locator: str | None) -> Failure:
    cfg = r.expectation_config
    kwargs = {k: v for k, v in cfg.kwargs.items() if k not in ("batch_id", "column")}
    column = cfg.kwargs.get("column")
    rule = re.sub(r"^expect_", "", cfg.type)
    res = r.result or {}
    rows: list[str] = []
    for item in res.get("unexpected_index_list") or []:
        if isinstance(item, dict) and keys:
            ident = "/".join(str(item.get(k)) for k in keys)
            if locator and item.get(locator) is not None:
                ident += f" ({locator} {item.get(locator)})"
            rows.append(ident)
        else:
            rows.append(f"row {item}")
    rows = list(dict.fromkeys(rows))
    sample = res.get("partial_unexpected_list") or []
    if r.exception_info and r.exception_info.get("raised_exception"):
        detail = f"check raised: {r.exception_info.get('exception_message')}"
    elif rule in _PLAIN:
        detail = _PLAIN[rule] + (f", e.g. {sample[:3]!r}" if sample and "regex" not in rule else "")
    elif "observed_value" in res:
        detail = f"observed {res['observed_value']!r}; expected {_short(kwargs)}"
    else:
        detail = f"expected {_short(kwargs)}; unexpected values e.g. {sample[:5]!r}"
    return Failure(
        table=table.name,
        source=source,
        rule=rule,
        column=column,
        detail=detail,
        rows=rows,
        unexpected_count=res.get("unexpected_count"),
    )


def _short(kwargs: dict[str, Any]) -> str:
    text = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    return text if len(text) < 160 else text[:157] + "..."


def validate_frames(
    frames: list[tuple[pd.DataFrame, Table, str]],
    gate: Gate | None = None,
    run_name: str | None = None,
) -> list[TableReport]:
    """Validate every (frame, table, source); raise ValidationFailed naming every failure
    after all tables are checked, so one run reports all problems at once. ``run_name``
    tags the results for that run's Data Docs."""
    gate = gate or default_gate()
    reports = [gate.run(df, table, source, run_name) for df, table, source in frames]
    failures = [f for rep in reports for f in rep.failures]
    if failures:
        if run_name is not None:
            gate.take_results(run_name)  # nothing is published: no Data Docs to build
        raise ValidationFailed(failures)
    return reports

