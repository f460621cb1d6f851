"""Published by the batch flow (under <processed>/batches): one row per scored applicant."""

from imgpipeline.declare import Column, Table
from imgpipeline.vocabulary import RISK_TIERS, VISA_NEEDS

D = "derived (imgpipeline.batch; rules in the rulebook's risk, list_size, recommend and fees sections)"

TABLE = Table(
    name="batch_applicants",
    title="Batch scoring: one row per applicant",
    grain="one row per applicant profile of a batch file",
    key=("profile_id",),
    schema_version="1.0",
    published=True,
    source="a batch file of applicant profiles, scored against one published refresh version",
    description=(
        "Each applicant's risk tier and the factors that fired, the article's list size for the "
        "tier, how many programs are open to them, left out (R1, R2, R6) and listed, the list's "
        "band mix, its ERAS fee and the chance of matching at their Step 2 CK. Published by "
        "`imgpipeline batch` into `<processed>/batches/`, apart from the refresh's versions; "
        "the lists themselves are in `batch_recommendations`."
    ),
    min_rows=1,
    max_rows=5_000_000,
    columns=(
        Column("profile_id", "string", "The applicant's opaque id from the batch file", source="batch file", nullable=False, unique=True, pattern=r"^[A-Za-z0-9_.:-]{1,64}$"),
        Column("risk_tier", "string", "Risk tier (the article's framework)", source=D, nullable=False, allowed=RISK_TIERS),
        Column("risk_factors", "string", "Ids of the risk factors that fired ('|'-joined; rulebook risk.factors), tier-raising first", source=D, nullable=False),
        Column("visa_need", "string", "Visa need", source="batch file", nullable=False, allowed=VISA_NEEDS),
        Column("list_size_min", "int64", "The article's number of programs to apply to for the tier: lower end", unit="programs", source="rulebook list_size", nullable=False, min=1, max=1000),
        Column("list_size_max", "int64", "Upper end (the list holds at most this many)", unit="programs", source="rulebook list_size", nullable=False, min=1, max=1000),
        Column("list_size_open_ended", "bool", "The article says 'or more' (200+)", source="rulebook list_size", nullable=False),
        Column("programs_eligible", "int64", "Programs no hard exclusion rules out (visa, failed attempts, YOG window, IMGs)", unit="programs", source=D, nullable=False, min=0),
        Column("programs_left_out", "int64", "Eligible programs left out of the list by the rulebook's recommend section (R1 avoid, R2 not accepting, R6 long shots)", unit="programs", source=D, nullable=False, min=0),
        Column("programs_listed", "int64", "Programs in the applicant's list (rows in batch_recommendations)", unit="programs", source=D, nullable=False, min=0, max=1000),
        Column("below_article_size", "bool", "Fewer programs qualify than the article's lower end: the list holds them all", source=D, nullable=False),
        Column("listed_likely", "int64", "Listed programs in the likely band", unit="programs", source=D, nullable=False, min=0),
        Column("listed_target", "int64", "Listed programs in the target band", unit="programs", source=D, nullable=False, min=0),
        Column("listed_reach", "int64", "Listed programs in the reach band", unit="programs", source=D, nullable=False, min=0),
        Column("preferred_listed", "int64", "Listed programs in a preferred state or region", unit="programs", source=D, nullable=False, min=0),
        Column("eras_fee_usd", "float64", "ERAS fee for the listed programs (rulebook fees.eras_residency; season and as-of in the batch manifest)", unit="USD", source="rulebook fees", nullable=False, min=0),
        Column("budget_usd", "float64", "The applicant's stated budget for application fees", unit="USD", source="batch file", min=0),
        Column("p_match", "float64", "Share of all non-US IMG applicants in IM with the applicant's Step 2 CK who matched (published match_probability_curve): the score alone, not the applicant's other risk factors; missing outside the data's support or without a score", unit="probability", source="match_probability_curve", min=0, max=1),
        Column("p_match_low", "float64", "Lower end of that chance's band", unit="probability", source="match_probability_curve", min=0, max=1),
        Column("p_match_high", "float64", "Upper end of that chance's band", unit="probability", source="match_probability_curve", min=0, max=1),
        Column("published_version", "string", "The refresh version whose program features were scored (its manifest lists every snapshot: source, as-of, sha256)", source="manifest", nullable=False),
        Column("acgme_snapshot", "string", "ACGME snapshot id(s) behind the scored programs: source@as-of#sha256[:12]", source="manifest", nullable=False),
        Column("freida_snapshot", "string", "FREIDA snapshot id(s) behind the scored programs", source="manifest", nullable=False),
    ),
)
