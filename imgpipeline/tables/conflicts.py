"""Published: where two sources disagree about one program's field."""

from imgpipeline.declare import Column, Table
from imgpipeline.tables._common import acgme_id

KINDS = ("spelling", "typo", "qualifier", "substantive", "changed", "list_vs_text")
SOURCES = (
    "acgme_programs",
    "freida_programs",
    "freida_programs (special_features_text)",
    "freida_2016",
)


def side(letter: str) -> tuple[Column, ...]:
    return (
        Column(f"value_{letter}", "string", f"Value source {letter.upper()} gives", source="pipeline", nullable=False),
        Column(f"source_{letter}", "category", f"Source {letter.upper()} (catalog name; '(special_features_text)' = the program's own text)", source="pipeline", nullable=False, allowed=SOURCES),
        Column(f"snapshot_{letter}", "string", f"Snapshot id of source {letter.upper()}", source="manifest", nullable=False),
        Column(f"as_of_{letter}", "date", "As-of date of that snapshot", source="manifest", nullable=False),
    )


TABLE = Table(
    name="conflicts",
    title="Conflicts between sources",
    grain="one row per program, field and pair of sources that disagree",
    key=("acgme_id", "field", "source_a", "source_b"),
    schema_version="2.0",
    published=True,
    source="programs (ACGME list + FREIDA 2025), program_minimums_2016, program-text visa statements",
    description=(
        "FREIDA vs ACGME city, state and name (after normalising case, punctuation and "
        "abbreviations such as St./Saint and Ft/Fort); FREIDA 2016 vs 2025 visa listings; "
        "FREIDA visa list vs the program's own text. `kind` says what the difference is: "
        "spelling (equal once normalised), typo (one or two letters apart), qualifier (one "
        "name is the other plus words), substantive (different facts), changed (2016 vs "
        "2025: the page changed; the 2016 value is stale), list_vs_text. Filter on `kind` = "
        "'substantive' for real disagreements between the ACGME list and FREIDA."
    ),
    min_rows=0,  # sources that fully agree give no conflict: not a failure
    max_rows=5000,
    columns=(
        acgme_id(unique=False, source="ACGME"),
        Column("program_name", "string", "Program name on the ACGME list", source="ACGME", nullable=False),
        Column("field", "string", "What the sources disagree on (city, state, program_name, j1_visa, h1b_visa, or a visa field of the program text)", source="pipeline", nullable=False),
        Column("kind", "category", "What kind of difference it is", source="pipeline", nullable=False, allowed=KINDS),
        *side("a"),
        *side("b"),
        Column("detail", "string", "The difference in words", source="pipeline", nullable=False),
        Column("evidence_quote", "string", "Exact sentence of the program text, for list_vs_text rows", source="FREIDA"),
    ),
)
