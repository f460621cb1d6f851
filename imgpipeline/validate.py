"""The validation gate: a Great Expectations suite made from each table's declaration.

Great Expectations takes seconds to import, so it is imported here only, and only when a
validation runs; the paths an applicant waits on never import this module.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from imgpipeline.declare import EMAIL_PATTERN, GX_TYPES, PHONE_PATTERN, Table
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

    return gx


def build_expectations(table: Table, columns: list[str] | None = None) -> list[Any]:
    """The expectations a table's declaration implies. ``columns`` (those present in the
    frame) limits per-column value checks to columns that exist; a missing column still gets
    its existence check, which is what fails."""
    E = _gx().expectations
    present = set(columns) if columns is not None else set(table.column_names)
    out: list[Any] = []
    for c in table.columns:
        out.append(E.ExpectColumnToExist(column=c.name))
        if c.name not in present:
            continue
        out.append(E.ExpectColumnValuesToBeOfType(column=c.name, type_=GX_TYPES[c.dtype]))
        if not c.nullable:
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
            out.append(E.ExpectColumnValuesToMatchRegex(column=c.name, regex=c.pattern))
        if table.no_contact_data and c.dtype == "string":
            out.append(E.ExpectColumnValuesToNotMatchRegex(column=c.name, regex=CONTACT_PATTERN))
    if len(table.key) > 1 and all(k in present for k in table.key):
        out.append(E.ExpectCompoundColumnsToBeUnique(column_list=list(table.key)))
    if table.min_rows is not None or table.max_rows is not None:
        out.append(
            E.ExpectTableRowCountToBeBetween(min_value=table.min_rows, max_value=table.max_rows)
        )
    return out


class Gate:
    """Runs declared suites. With ``docs_dir`` it keeps a file-backed GX context there and
    writes Great Expectations' HTML Data Docs for every table it validates."""

    def __init__(self, docs_dir: Path | None = None):
        gx = _gx()
        self.docs_dir = docs_dir
        if docs_dir is None:
            self.context = gx.get_context(mode="ephemeral")
        else:
            docs_dir.mkdir(parents=True, exist_ok=True)
            self.context = gx.get_context(mode="file", project_root_dir=str(docs_dir))
        self.source = self.context.data_sources.add_or_update_pandas("imgpipeline")
        self.results: list[Any] = []

    def run(self, df: pd.DataFrame, table: Table, source: str) -> TableReport:
        gx = _gx()
        try:
            asset = self.source.get_asset(table.name)
        except LookupError:
            asset = self.source.add_dataframe_asset(table.name)
        batch_def = _batch_definition(asset)
        suite = gx.ExpectationSuite(name=table.name)
        for e in build_expectations(table, list(df.columns)):
            suite.add_expectation(e)
        suite = self.context.suites.add_or_update(suite)
        vd = self.context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=table.name, data=batch_def, suite=suite)
        )
        keys = [k for k in table.key if k in df.columns]
        index_cols = keys + ([table.locator] if table.locator in df.columns else [])
        fmt: dict[str, Any] = {"result_format": "COMPLETE", "include_unexpected_rows": False}
        if index_cols:
            fmt["unexpected_index_column_names"] = index_cols
        result = vd.run(batch_parameters={"dataframe": df}, result_format=fmt)
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

    def build_data_docs(self) -> Path | None:
        """Write the HTML Data Docs for the validations run so far; return the index page."""
        if self.docs_dir is None:
            return None
        for result in self.results:
            self.context.validation_results_store.store_validation_results(
                suite_validation_result=result,
                suite_validation_result_identifier=_result_identifier(result),
            )
        self.context.build_data_docs()
        index = next(self.docs_dir.rglob("data_docs/local_site/index.html"), None)
        return index


@functools.lru_cache(maxsize=1)
def default_gate() -> Gate:
    """One in-memory GX context per process: building one takes seconds."""
    return Gate()


def _batch_definition(asset: Any) -> Any:
    try:
        return asset.get_batch_definition("whole")
    except (KeyError, LookupError):
        return asset.add_batch_definition_whole_dataframe("whole")


def _result_identifier(result: Any) -> Any:
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    return ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=result.suite_name),
        run_id=result.meta["run_id"],
        batch_identifier=result.meta.get("active_batch_definition", {}).get(
            "batch_identifiers", "whole"
        )
        if isinstance(result.meta.get("active_batch_definition"), dict)
        else "whole",
    )


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
    frames: list[tuple[pd.DataFrame, Table, str]], gate: Gate | None = None
) -> list[TableReport]:
    """Validate every (frame, table, source); raise ValidationFailed naming every failure
    after all tables are checked, so one run reports all problems at once."""
    gate = gate or default_gate()
    reports = [gate.run(df, table, source) for df, table, source in frames]
    failures = [f for rep in reports for f in rep.failures]
    if failures:
        raise ValidationFailed(failures)
    return reports

