"""Published: NRMP internal-medicine program codes linked to ACGME program numbers."""

from imgpipeline.declare import ACGME_ID_PATTERN, Column, Table
from imgpipeline.tables import nrmp_program_results as results
from imgpipeline.tables._common import provenance, state

R = results.TABLE
METHODS = ("fuzzy", "freida_2016_code", "none")
# One candidate of ``candidates`` (``imgpipeline.refresh.crosswalk.Candidate``).
CANDIDATE_FIELDS = (("acgme_id", "string"), ("score", "float64"), ("city_agrees", "bool"))


def score(name: str, what: str) -> Column:
    return Column(name, "float64", what, unit="score (0-100)", source="pipeline", min=-200, max=100)


TABLE = Table(
    name="nrmp_crosswalk",
    title="NRMP-to-ACGME crosswalk, Florida internal medicine",
    grain="one row per NRMP internal-medicine program code (specialty 140, any track)",
    key=("program_code",),
    schema_version="3.0",
    published=True,
    source="NRMP Florida program results, ACGME program list, FREIDA pages (2025 names, 2016 NRMP codes)",
    description=(
        "Each NRMP code is scored against every ACGME program by sponsor, site, name and city "
        "(rapidfuzz; rules in the rulebook's `crosswalk:` section). A code is linked only "
        "above the threshold with a clear margin over the runner-up, or when a 2016 FREIDA "
        "page still on the ACGME list named the code and scores above a floor; otherwise "
        "`linked` is false, `acgme_id` is missing and the code is listed in "
        "`unmatched_records`. The C, P and M tracks of one program can share an ACGME id."
    ),
    min_rows=1,
    max_rows=2000,
    columns=(
        Column("program_code", "string", "NRMP program code", source="NRMP", nullable=False, unique=True, pattern=results.CODE_PATTERN),
        R.column("track"),
        Column("sponsor", "string", "NRMP sponsoring institution (cleaned), latest year", source="NRMP", nullable=False),
        R.column("program_label"),
        R.column("site_city"),
        state("NRMP"),
        Column("last_year_offered", "int64", "Last Match year with a quota above 0; missing if never", unit="year", source="NRMP", min=2000, max=2100),
        Column("linked", "bool", "Whether the code is linked to an ACGME program", source="pipeline", nullable=False),
        Column("acgme_id", "string", "ACGME program number the code is linked to; missing when unlinked", source="pipeline", pattern=ACGME_ID_PATTERN),
        Column("method", "category", "How it was linked: fuzzy (name, site and city score), freida_2016_code (the program's 2016 FREIDA page listed the code, corroborated by the score), none", source="pipeline", nullable=False, allowed=METHODS),
        score("match_score", "Score of the linked program (of the best candidate when unlinked): name score less city, state and preliminary-track penalties"),
        score("name_score", "Name part of that score, before penalties"),
        Column("city_agrees", "bool", "Whether that program's ACGME city is the NRMP site city (a match on the sponsor city only costs half the city penalty)", source="pipeline", nullable=False),
        Column("best_acgme_id", "string", "Best-scoring ACGME program", source="pipeline", nullable=False, pattern=ACGME_ID_PATTERN),
        score("best_score", "Its score"),
        Column("runner_up_acgme_id", "string", "Best-scoring other ACGME program", source="pipeline", pattern=ACGME_ID_PATTERN),
        score("runner_up_score", "Its score"),
        Column("margin", "float64", "best_score - runner_up_score", unit="score points", source="pipeline", min=0, max=300),
        Column("site_hint", "string", "Site named in the NRMP label after '/' and used in the score; empty when none was used", source="pipeline"),
        Column("freida_2016_acgme_id", "string", "ACGME id whose 2016 FREIDA page listed this NRMP code, if any", source="FREIDA 2016", pattern=ACGME_ID_PATTERN),
        Column("agrees_with_2016", "bool", "Whether the link is the id the 2016 page gives; missing when either is missing", source="pipeline"),
        Column("candidates", "list<struct>", "Top candidates considered, best first: each ACGME program's id, its score (as match_score) and whether its ACGME city is the NRMP site city", source="pipeline", nullable=False, fields=CANDIDATE_FIELDS),
        Column("explanation", "string", "Why the code is linked (score and margin, or the 2016 listing) or not (city differs, below threshold, ambiguous), in words", source="pipeline", nullable=False),
        *provenance("nrmp", "NRMP Florida program results", full_date=False),
        *provenance("acgme", "ACGME program list"),
        *provenance("freida_2016", "FREIDA 2016 scrape"),
    ),
)
