"""Published by the batch flow (under <processed>/batches): one row per scored applicant."""

from imgpipeline.declare import Column, Table
from imgpipeline.vocabulary import RISK_TIERS, VISA_NEEDS

D = "derived (imgpipeline.advice.batch: advice.model, advice.lists and advice.outcome, as `imgpipeline recommend`; rules in the rulebook's risk, list_size, lists, readiness and fees sections)"
SIZE_RULES = ("reached_target", "stopped_rising", "every_candidate", "budget", "no_candidate")

TABLE = Table(
    name="batch_applicants",
    title="Batch scoring: one row per applicant",
    grain="one row per applicant profile of a batch file",
    key=("profile_id",),
    schema_version="3.0",
    published=True,
    source="a batch file of applicant profiles, scored against one published refresh version",
    description=(
        "Each applicant's risk tier and the factors that fired, readiness gaps and the fields "
        "the profile left unstated, the article's list size for the tier, how many programs are "
        "open to them, left out (R1, R2, R4) and listed, the size the chances chose and why, the "
        "interviews the list should bring (with the interval from the openness intervals) and "
        "P(match | list) with its band, the list's band mix and its ERAS fee: what `imgpipeline "
        "recommend` says for the same profile. Published by `imgpipeline batch` into "
        "`<processed>/batches/`, apart from the refresh's versions; the lists themselves are in "
        "`batch_recommendations`."
    ),
    min_rows=1,
    max_rows=5_000_000,
    columns=(
        Column("profile_id", "string", "The applicant's opaque id from the batch file", source="batch file", nullable=False, unique=True, pattern=r"^[A-Za-z0-9_.:-]{1,64}$"),
        Column("risk_tier", "category", "Risk tier (the article's framework)", source=D, nullable=False, allowed=RISK_TIERS),
        Column("risk_factors", "list<string>", "Ids of the risk factors that fired (rulebook risk.factors), tier-raising first", source=D, nullable=False),
        Column("readiness", "list<string>", "Ids of the readiness gaps that make the chances conditional (rulebook readiness): Step 1 or Step 2 CK not passed, Step 2 CK not taken, ...; empty when none", source=D, nullable=False),
        Column("not_stated", "list<string>", "Profile fields left empty: they fire no risk factor and add nothing to any chance; stating them may change the tier", source="batch file", nullable=False),
        Column("visa_need", "category", "Visa need", source="batch file", nullable=False, allowed=VISA_NEEDS),
        Column("list_size_min", "int64", "The article's number of programs to apply to for the tier: lower end (shown beside the chosen size)", unit="programs", source="rulebook list_size", nullable=False, min=1, max=1000),
        Column("list_size_max", "int64", "The article's upper end", unit="programs", source="rulebook list_size", nullable=False, min=1, max=1000),
        Column("list_size_open_ended", "bool", "The article says 'or more' (200+)", source="rulebook list_size", nullable=False),
        Column("programs_eligible", "int64", "Programs no hard exclusion rules out (visa, failed attempts, YOG window, IMGs, military)", unit="programs", source=D, nullable=False, min=0),
        Column("programs_left_out", "int64", "Eligible programs left out by the rulebook's lists section (R1 avoid, R2 not accepting, R4 long shots)", unit="programs", source=D, nullable=False, min=0),
        Column("programs_candidates", "int64", "Programs the list could take (eligible and not left out)", unit="programs", source=D, nullable=False, min=0),
        Column("programs_listed", "int64", "Programs in the applicant's list (rows in batch_recommendations): the top of the ranking by P(interview)", unit="programs", source=D, nullable=False, min=0, max=1000),
        Column("size_rule", "category", "Why the list has this size (rulebook lists R5): reached_target (smallest list reaching target_p_match), stopped_rising (P(match) gains less than min_gain_per_step per size_step), every_candidate, budget (the budget covers fewer), no_candidate", source=D, nullable=False, allowed=SIZE_RULES),
        Column("below_article_size", "bool", "The list is shorter than the article's lower end for the tier", source=D, nullable=False),
        Column("listed_likely", "int64", "Listed programs in the likely band of P(interview)", unit="programs", source=D, nullable=False, min=0),
        Column("listed_target", "int64", "Listed programs in the target band", unit="programs", source=D, nullable=False, min=0),
        Column("listed_reach", "int64", "Listed programs in the reach band", unit="programs", source=D, nullable=False, min=0),
        Column("preferred_listed", "int64", "Listed programs in a preferred state or region", unit="programs", source=D, nullable=False, min=0),
        Column("expected_interviews", "float64", "Interviews the list should bring: the sum of its programs' P(interview)", unit="interviews", source=D, nullable=False, min=0),
        Column("interviews_low", "float64", "Expected interviews at the low ends of the programs' openness intervals", unit="interviews", source=D, nullable=False, min=0),
        Column("interviews_high", "float64", "Expected interviews at the high ends", unit="interviews", source=D, nullable=False, min=0),
        Column("p_match", "float64", "P(match | list): the interview count's distribution (Poisson-binomial) through the published contiguous-ranks curve (NRMP Charting Outcomes, non-US IMGs in IM); 0 for an empty list", unit="probability", source=D, nullable=False, min=0, max=1),
        Column("p_match_low", "float64", "Low end of P(match | list): low chances through the curve's low band", unit="probability", source=D, nullable=False, min=0, max=1),
        Column("p_match_high", "float64", "High end of P(match | list)", unit="probability", source=D, nullable=False, min=0, max=1),
        Column("p_no_interview", "float64", "Chance the list brings no interview at all", unit="probability", source=D, nullable=False, min=0, max=1),
        Column("eras_fee_usd", "float64", "ERAS fee for the listed programs (rulebook fees.eras_residency; season and as-of in the batch manifest)", unit="USD", source="rulebook fees", nullable=False, min=0),
        Column("budget_usd", "float64", "The applicant's stated budget for application fees (missing: not stated)", unit="USD", source="batch file", min=0),
        Column("published_version", "string", "The refresh version whose model was scored (its manifest lists every snapshot: source, as-of, sha256)", source="manifest", nullable=False),
        Column("acgme_snapshot", "string", "ACGME snapshot id(s) behind the scored programs: source@as-of#sha256[:12]", source="manifest", nullable=False),
        Column("freida_snapshot", "string", "FREIDA snapshot id(s) behind the scored programs", source="manifest", nullable=False),
    ),
)
