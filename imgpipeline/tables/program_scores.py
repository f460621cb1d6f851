"""Published: each tier's typical applicant's chance of an interview at every program (per visa
need), with eligibility, cautions and the log-odds contributions that make up the chance."""

from imgpipeline.declare import Column, Table
from imgpipeline.tables import programs as programs_table
from imgpipeline.tables._common import acgme_id, provenance, state
from imgpipeline.vocabulary import BANDS, BASES, PROGRAM_TIERS, RISK_TIERS, VISA_NEEDS

# One contribution to a chance (``imgpipeline.advice.explain.contribution_rows``).
CONTRIBUTION_FIELDS = (("term", "string"), ("log_odds", "float64"), ("odds_multiplier", "float64"), ("basis", "string"), ("evidence", "string"))
D = "derived (imgpipeline.refresh.program_scores with imgpipeline.advice.model; constants in interview_coefficients)"


def flag(name: str, what: str) -> Column:
    return Column(name, "bool", what, source=D, nullable=False)


def chance(name: str, what: str) -> Column:
    return Column(name, "float64", what, unit="probability", source=D, nullable=False, min=0.0, max=1.0)


TABLE = Table(
    name="program_scores",
    title="P(interview) per applicant risk tier",
    grain="one row per program x risk tier x visa need the tier admits (12 pairs per program)",
    key=("acgme_id", "risk_tier", "visa_need"),
    schema_version="3.0",
    published=True,
    source="program_openness and interview_coefficients, for the rulebook's interview.tier_profiles",
    description=(
        "For the typical applicant of each risk tier (`tier_profile`; the rulebook's "
        "interview.tier_profiles, from the article's examples) and each visa need the risk rules "
        "keep in that tier: the chance of an interview at the program (`p_interview`, 0 when a "
        "hard exclusion applies) with the interval its openness interval gives, its logit, band "
        "(ranges of P in interview_coefficients), eligibility and why not, cautions, and the "
        "log-odds contributions that add up to the logit; the same contributions, one row "
        "each, are in `score_reasons`. A riskier tier's typical applicant never gets a higher "
        "chance; unknown features add nothing, never a guess."
    ),
    min_rows=4000,
    max_rows=20000,
    notes=(
        "Pairs not published: lower risk with any visa need (a J-1 need is itself a moderately-low factor, H-1B a high one) and moderately low with an H-1B need.",
        "2016 minimums count as dated evidence (a log-odds term and a caution), never as an exclusion.",
    ),
    columns=(
        acgme_id(unique=False),
        programs_table.TABLE.column("program_name"),
        state("ACGME"),
        Column("program_tier", "category", "The article's program tier (inferred in program_features)", source="program_features", basis="inferred", nullable=False, allowed=PROGRAM_TIERS),
        Column("img_share", "float64", "IMG share as program_openness counts it", unit="fraction", source="program_openness", min=0.0, max=1.0),
        Column("img_share_basis", "category", "Basis of img_share", source="program_features", nullable=False, allowed=BASES),
        Column("risk_tier", "category", "Applicant risk tier (the article's framework)", source=D, nullable=False, allowed=RISK_TIERS),
        Column("visa_need", "category", "Applicant visa need", source=D, nullable=False, allowed=VISA_NEEDS),
        Column("tier_profile", "string", "The typical applicant scored for this tier and visa need", source=D, nullable=False),
        chance("p_interview", "Chance the program interviews this applicant (0 when excluded)"),
        chance("p_interview_low", "p_interview at the low end of the program's openness interval"),
        chance("p_interview_high", "p_interview at the high end of the program's openness interval"),
        Column("logit", "float64", "log(p / (1 - p)) before exclusions: the sum of the contributions", unit="log-odds", source=D, nullable=False, min=-50.0, max=50.0),
        Column("band", "category", "reach / target / likely by P(interview) (interview_coefficients band_*); excluded when not eligible", source=D, nullable=False, allowed=BANDS),
        flag("eligible", "False when a hard exclusion applies (the exclusion flags below)"),
        flag("excluded_visa", "The needed visa is not sponsored (stated, or inferred where FREIDA lists no visa type)"),
        flag("excluded_failed_attempts", "The program states it excludes applicants with failed attempts, and the applicant has one"),
        flag("excluded_yog", "The program states a required graduation window the applicant is beyond"),
        flag("excluded_imgs", "The program states it does not consider IMGs"),
        flag("excluded_military", "A military program, for a civilian applicant"),
        Column("exclusion_reasons", "list<string>", "Why the program is excluded; empty when eligible", source=D, nullable=False),
        Column("cautions", "list<string>", "What to check before applying: unknown visa sponsorship, Step 3 for H-1B, ECFMG certification, stated USCE, 2016 minimums (dated)", source=D, nullable=False),
        Column("contributions", "list<struct>", "Every term of the chance: its log-odds, odds multiplier, basis and evidence; the log-odds add up to logit", source=D, nullable=False, fields=CONTRIBUTION_FIELDS),
        Column("rulebook_sha256", "string", "sha256 of the rulebook the chances were computed with", source=D, nullable=False, pattern=r"^[0-9a-f]{64}$"),
        *provenance("acgme", "ACGME program list"),
        *provenance("freida", "FREIDA program pages"),
    ),
)
