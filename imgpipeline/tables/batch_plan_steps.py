"""Published by the batch flow with ``--plans`` (under <processed>/batches): one row per
applicant x step of the applicant's plan (``imgpipeline.advice.plan.plan_rows``)."""

from imgpipeline.declare import Column, Table
from imgpipeline.vocabulary import RISK_TIERS

D = "derived (imgpipeline.advice.plan: the rulebook's plan section, each step sized by re-running the model on the changed profile, as `imgpipeline recommend`)"
BEFORE = "before the step: the applicant as stated, the list the advice builds"
AFTER = "after the step: the changed profile, scored on the same list size (plus the step's added applications)"
OWN = "after the step: the changed profile with the list the advice would build for it"


def _figures(suffix: str, when: str) -> tuple[Column, ...]:
    return (
        Column(f"programs_{suffix}", "int64", f"Programs on the list, {when}", unit="programs", source=D, min=0),
        Column(f"expected_interviews_{suffix}", "float64", f"Interviews the list should bring, {when}", unit="interviews", source=D, min=0),
        Column(f"p_match_{suffix}", "float64", f"P(match | list), {when}", unit="probability", source=D, min=0, max=1),
    )


TABLE = Table(
    name="batch_plan_steps",
    title="Batch scoring: each applicant's next steps",
    grain="one row per applicant x step of the applicant's plan",
    key=("profile_id", "step_order"),
    schema_version="2.0",
    published=True,
    source="a batch file of applicant profiles, scored against one published refresh version",
    description=(
        "The article's remedies as each applicant's plan (`imgpipeline batch --plans`): for every "
        "risk factor that fired and every readiness gap, the step that answers it, quoted from "
        "the article with its section, made personal, and what the model says it would change "
        "(tier, programs open, expected interviews, P(match | list)), or that the data here cannot "
        "size it. The same rows `imgpipeline recommend` writes to plan.csv for one profile. An "
        "applicant with no factor and no gap has no row."
    ),
    min_rows=0,
    max_rows=50_000_000,
    columns=(
        Column("profile_id", "string", "The applicant's opaque id from the batch file", source="batch file", nullable=False, pattern=r"^[A-Za-z0-9_.:-]{1,64}$"),
        Column("step_order", "int64", "The step's place in the plan (1 = changes the most)", source=D, nullable=False, min=1),
        Column("step_id", "string", "The step's id (rulebook plan.steps)", source="rulebook plan", nullable=False),
        Column("title", "string", "The step in a few words", source="rulebook plan", nullable=False),
        Column("answers", "list<string>", "Ids of the risk factors and readiness gaps the step answers", source=D, nullable=False),
        Column("quotes", "list<struct>", "The article's words for the step, each with its section", source="rulebook plan (the article)", nullable=False, fields=(("text", "string"), ("section", "string"))),
        Column("personal", "string", "The step made personal to the profile", source=D, nullable=False),
        Column("sized", "bool", "Whether the model sized the step (false: the article recommends it; the data here cannot size it)", source=D, nullable=False),
        Column("effect", "string", "What the step would change, in words", source=D, nullable=False),
        Column("change", "string", "The changed profile the step implies, in words (empty when not sized)", source=D),
        Column("tier_before", "category", f"Risk tier, {BEFORE}", source=D, allowed=RISK_TIERS),
        Column("tier_after", "category", f"Risk tier, {AFTER}", source=D, allowed=RISK_TIERS),
        Column("eligible_before", "int64", f"Programs open to the applicant, {BEFORE}", unit="programs", source=D, min=0),
        Column("eligible_after", "int64", f"Programs open to the applicant, {AFTER}", unit="programs", source=D, min=0),
        *_figures("before", BEFORE),
        *_figures("after", AFTER),
        Column("p_match_low_after", "float64", "Lower end of the P(match | list) band, after the step", unit="probability", source=D, min=0, max=1),
        Column("p_match_high_after", "float64", "Upper end of the P(match | list) band, after the step", unit="probability", source=D, min=0, max=1),
        *_figures("after_list", OWN),
        Column("p_match_low_after_list", "float64", "Lower end of the P(match | list) band, after the step, with its own list", unit="probability", source=D, min=0, max=1),
        Column("p_match_high_after_list", "float64", "Upper end of the P(match | list) band, after the step, with its own list", unit="probability", source=D, min=0, max=1),
        Column("published_version", "string", "The refresh version the plan was scored against", source="manifest", nullable=False),
    ),
)
