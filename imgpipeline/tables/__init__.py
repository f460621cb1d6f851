"""The table declarations, one module per table, each defining ``TABLE``.

Modules are discovered, so a new table is one new file here."""

from __future__ import annotations

import importlib
import pkgutil

from imgpipeline.declare import Table


def _discover() -> dict[str, Table]:
    found: dict[str, Table] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        table = getattr(module, "TABLE", None)
        if isinstance(table, Table):
            if table.name in found:
                raise RuntimeError(f"table {table.name!r} is declared twice")
            found[table.name] = table
    return found


TABLES: dict[str, Table] = _discover()
PUBLISHED: dict[str, Table] = {k: v for k, v in TABLES.items() if v.published}

