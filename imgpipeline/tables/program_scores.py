"""Published: how reachable each program is for each applicant risk tier (and visa need), with
eligibility, cautions and the contributions that make up the score."""

from imgpipeline.applicant import VISA_NEEDS
from imgpipeline.declare import BASES, Column, Table
from imgpipeline.risk import TIERS
from imgpipeline.scoring import BANDS, PROGRAM_TIERS
from imgpipeline.tables import programs as programs_table
from imgpipeline.tables._common import acgme_id, provenance, state

D = "derived (imgpipeline.scoring; weights in the rulebook's scoring section)"


def flag(name: str, what: str) -> Column:
    return Column(name, "bool", what, source=D, nullable=False)


TABLE = Table(
    name="program_scores",
    title="Program scores per applicant risk tier",
    grain="one row per program x risk tier x visa need the tier admits (12 pairs per program)",
    key=("acgme_id", "risk_tier", "visa_need"),
    schema_version="1.0",
    published=True,
    source="program_features (+ feature_evidence quotes, program_minimums_2016 cautions), scored with the rulebook",
    description=(
        "For the typical applicant of each risk tier (`tier_profile`; the rulebook's "
        "scoring.tier_profiles, from the article's examples) and each visa need the risk rules "
        "keep in that tier: a 0-100 score of how reachable the program is, its band (reach / "
        "target / likely; `excluded` when ineligible), whether it is eligible and why not, "
        "cautions, and the contributions (JSON) that add up to the score; the same "
        "contributions, one row each, are in `score_reasons`. A riskier tier never scores a "
        "program higher; unknown features count a stated neutral amount, never a guess."
    ),
    min_rows=4000,
    max_rows=20000,
    notes=(
        "Pairs not published: lower risk with any visa need (a J-1 need is itself a moderately-low factor, H-1B a high one) and moderately low with an H-1B need.",
        "Stale 2016 minimums appear only as cautions, never in the score.",
    ),
    columns=(
        acgme_id(unique=False),
        programs_table.TABLE.column("program_name"),
        state("ACGME"),
        Column("program_tier", "string", "The article's program tier (inferred in program_features)", source="program_features", basis="inferred", nullable=False, allowed=PROGRAM_TIERS),
        Column("img_share", "float64", "Share of residents who are IMGs, as program_features holds it", unit="fraction", source="program_features", min=0.0, max=1.0),
        Column("img_share_basis", "string", "Basis of img_share", source="program_features", nullable=False, allowed=BASES),
        Column("risk_tier", "string", "Applicant risk tier (the article's framework)", source=D, nullable=False, allowed=TIERS),
        Column("visa_need", "string", "Applicant visa need", source=D, nullable=False, allowed=VISA_NEEDS),
        Column("tier_profile", "string", "The typical applicant scored for this tier and visa need", source=D, nullable=False),
        Column("score", "float64", "How reachable the program is for this applicant, 0-100: the sum of the contributions", unit="points", source=D, nullable=False, min=0.0, max=100.0),
        Column("band", "string", "reach / target / likely by score (rulebook scoring.bands); excluded when not eligible", source=D, nullable=False, allowed=BANDS),
        flag("eligible", "False when a hard exclusion applies (the exclusion flags below)"),
        flag("excluded_visa", "The needed visa is not sponsored (stated, or inferred where FREIDA lists no visa type)"),
        flag("excluded_failed_attempts", "The program states it excludes applicants with failed attempts, and the applicant has one"),
        flag("excluded_yog", "The program states a required graduation window the applicant is beyond"),
        flag("excluded_imgs", "The program states it does not consider IMGs"),
        Column("exclusion_reasons", "string", "Why the program is excluded, '; '-joined, with the evidence; empty when eligible", source=D, nullable=False),
        Column("cautions", "string", "What to check before applying ('; '-joined): unknown visa sponsorship, Step 3 for H-1B, ECFMG certification, stated USCE, 2016 minimums above the tier's score (stale)", source=D, nullable=False),
        Column("contributions", "string", "JSON list of {factor, points, basis, evidence}; the points add up to score", source=D, nullable=False),
        Column("rulebook_sha256", "string", "sha256 of the rulebook the score was computed with", source=D, nullable=False, pattern=r"^[0-9a-f]{64}$"),
        *provenance("acgme", "ACGME program list"),
        *provenance("freida", "FREIDA program pages"),
    ),
)
