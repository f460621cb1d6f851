"""Staged: the IM rows of the 2016 FREIDA scrape, typed; dated evidence, not current policy."""

from imgpipeline.declare import Column, Table
from imgpipeline.tables._common import acgme_id

F = "FREIDA 2016"
PROGRAM_TYPES_2016 = (
    "University-based",
    "Community-based university affiliated hospital",
    "Community-based",
    "Military-based",
    "Other",
)
AVG_STEP1_BANDS = ("201 - 220", "221 - 240", "> 240")  # the ranges the IM pages use


def score(name: str, what: str) -> Column:
    return Column(name, "int64", what, unit="USMLE 3-digit score", source=F, basis="stated", min=1, max=300)


def flag(name: str, what: str) -> Column:
    return Column(name, "bool", what + "; missing where the page gives no answer", source=F, basis="stated")


def qualification(name: str, what: str) -> Column:
    return flag(
        name,
        f"The 2016 page lists {what} among the qualifications IMGs should have ('one or more of "
        "the following'): true = Yes, false = No",
    )


COLUMNS = (
    acgme_id(source=F),
    Column("source_row", "int64", "Line of result.csv the row was read from (header = line 1)", source=F, nullable=False, min=2),
    Column("program_title", "string", "Program title in 2016", source=F),
    Column("primary_teaching_site", "string", "Primary teaching site in 2016", source=F),
    Column("program_type_2016", "category", "'Program best described as' in 2016", source=F, basis="stated", allowed=PROGRAM_TYPES_2016),
    score("step1_min_score", "USMLE Step 1 minimum score for interview consideration, as stated in 2016"),
    flag("step1_required", "Whether Step 1 was required for interview consideration in 2016"),
    score("step2_min_score", "USMLE Step 2 CK minimum score for interview consideration, as stated in 2016"),
    flag("step2_required", "Whether Step 2 CK was required for interview consideration in 2016"),
    Column("avg_step1_band", "category", "Average Step 1 score of current residents, as the range the 2016 page shows", source=F, basis="stated", allowed=AVG_STEP1_BANDS),
    score("avg_step1_low", "Lower end of that range (missing for an open-ended '< N')"),
    score("avg_step1_high", "Upper end of that range (missing for an open-ended '> N')"),
    qualification("lists_ecfmg_certification", "current ECFMG certification"),
    qualification("lists_j1_visa", "a J-1 visa"),
    qualification("lists_h1b_visa", "an H-1B visa"),
    qualification("lists_f1_visa", "an F-1 visa"),
    flag("offers_preliminary_2016", "Whether the program offered preliminary positions in 2016"),
    Column("first_year_positions_2016", "int64", "Total program size, year 1, in 2016", unit="positions", source=F, basis="stated", min=0, max=200),
    flag("in_nrmp_main_match_2016", "Whether the program took part in the NRMP Main Match in 2016"),
    Column("nrmp_codes_2016", "list<string>", "NRMP program codes the 2016 page lists; empty when none", source=F, nullable=False, pattern=r"^\d{7}[A-Z]\d$"),
    Column("general_info_present", "bool", "Whether the 2016 page has its 'General Information' section (scores, visas); 91 IM pages have only 'Basic Information'", source=F, nullable=False),
)

TABLE = Table(
    name="freida_2016_programs",
    title="FREIDA internal-medicine program pages, 2016 scrape",
    grain="one row per IM program page of the 2016 scrape",
    key=("acgme_id",),
    schema_version="1.0",
    source="AMA FREIDA program pages, all specialties, scraped 2016-02-28 (zip of a latin-1 CSV)",
    min_rows=300,
    max_rows=600,
    locator="source_row",
    notes=("About ten years old: what programs stated in February 2016, never their current policy.",),
    columns=COLUMNS,
)
