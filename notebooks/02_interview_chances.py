# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · Interview chances by applicant risk tier
#
# `program_scores` has one row per program, applicant risk tier and visa need: the chance that
# the tier's typical applicant is interviewed (`p_interview`, with the range its openness
# interval gives), a band (reach / target / likely by P, or excluded) and the log-odds
# contributions that add up to the logit (`score_reasons`). This notebook shows how the chances
# are distributed per tier, what a list down each tier's ranking brings, the top programs of each
# tier and what drives them. Read from the current published version; figures saved in
# `<version>/figures/`, each captioned with its source.

# %% tags=["parameters"]
# The published version folder to read; None reads the current one. The refresh passes the
# version it has just published (`imgpipeline notebooks --version-dir` another).
version_dir = None

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

from imgpipeline.advice.outcome import RanksCurve, size_curve
from imgpipeline.refresh.figures import figure_saver, open_version, source_caption
from imgpipeline.settings import get_settings
from imgpipeline.store import read_table
from imgpipeline.tables import TABLES

settings = get_settings()
version, figures = open_version(settings, version_dir)
SOURCE = source_caption(version, "acgme_programs", "freida_programs", "freida_2016", "nrmp_charting_outcomes")
save = figure_saver(figures, default_caption=SOURCE)

scores = read_table("program_scores", settings, version)
reasons = read_table("score_reasons", settings, version)
validity = read_table("score_validity", settings, version)
curve = read_table("match_probability_curve", settings, version)
coefficients = read_table("interview_coefficients", settings, version).set_index("term")
declared = TABLES["program_scores"]
RISK_TIERS = [t for t in declared.column("risk_tier").allowed or () if (scores["risk_tier"] == t).any()]
BANDS = list(declared.column("band").allowed or ())
print(f"version {version.name}: {scores['acgme_id'].nunique()} programs x {scores.groupby(['risk_tier', 'visa_need']).ngroups} tier/visa pairs = {len(scores)} rows")
print("risk tiers:", ", ".join(RISK_TIERS))

# %% [markdown]
# ## Chance distributions
#
# For an applicant who needs no visa (a visa need only removes programs), P(interview) at the
# eligible programs per risk tier (log scale); and the band mix per tier and visa need.

# %%
no_visa = scores[scores["visa_need"] == "none"]
fig, ax = plt.subplots(figsize=(8, 4))
data = [np.log10(no_visa.loc[(no_visa["risk_tier"] == t) & no_visa["eligible"], "p_interview"].astype(float).clip(lower=1e-6)) for t in RISK_TIERS]
ax.violinplot(data, showmedians=True)
ax.set_xticks(range(1, len(RISK_TIERS) + 1), [f"{t}\n(n={len(d)})" for t, d in zip(RISK_TIERS, data, strict=True)])
ax.set_ylabel("log10 P(interview)")
ax.set_title("P(interview) per program, by the tier's typical applicant (no visa)")
save(fig, "02_chance_distributions")

mix = scores.groupby(["risk_tier", "visa_need"])["band"].value_counts(normalize=True).unstack(fill_value=0.0)
mix = mix.reindex(columns=[b for b in BANDS if b in mix.columns])
fig, ax = plt.subplots(figsize=(9, 4))
mix.plot.barh(stacked=True, ax=ax)
ax.set_xlabel("share of programs")
ax.set_title("Band mix per risk tier and visa need")
save(fig, "02_band_mix")

# %% [markdown]
# ## What a list brings
#
# Down each tier's ranking (no visa), the expected interviews and P(match | list) for 20 to 300
# programs: the same size curve `imgpipeline recommend` shows an applicant.

# %%
ranks = RanksCurve.from_curve(curve)
sizes = np.arange(20, 301, 20)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
rows = []
for tier in RISK_TIERS:
    p = np.sort(no_visa.loc[(no_visa["risk_tier"] == tier) & no_visa["eligible"], "p_interview"].to_numpy(dtype=float))[::-1]
    out = size_curve(p, p, p, ranks, sizes[sizes <= len(p)])
    ax1.plot([o.n for o in out], [o.expected_interviews for o in out], label=tier)
    ax2.plot([o.n for o in out], [o.p_match for o in out], label=tier)
    rows += [{"risk_tier": tier, "programs": o.n, "expected_interviews": round(o.expected_interviews, 2), "p_match": round(o.p_match, 3)} for o in out]
ax1.set_xlabel("programs applied to"), ax1.set_ylabel("expected interviews")
ax2.set_xlabel("programs applied to"), ax2.set_ylabel("P(match | list)")
ax2.legend()
save(fig, "02_size_curves")
display(pd.DataFrame(rows).pivot(index="programs", columns="risk_tier", values="p_match"))

# %% [markdown]
# ## Top programs per tier
#
# The ten likeliest eligible programs for each tier's typical applicant (no visa).

# %%
cols = ["acgme_id", "program_name", "state", "program_tier", "img_share", "img_share_basis", "p_interview", "band"]
for tier in RISK_TIERS:
    top = no_visa[(no_visa["risk_tier"] == tier) & no_visa["eligible"]].sort_values("p_interview", ascending=False).head(10)
    print(tier)
    display(top[cols])

# %% [markdown]
# ## What drives the chances
#
# The mean log-odds each term contributes, per risk tier (no visa needed); the baseline
# (calibration + openness) is the same for every tier and is left out.

# %%
terms = list(TABLES["score_reasons"].column("term").allowed or ())
mean_terms = reasons[reasons["visa_need"] == "none"].groupby(["risk_tier", "term"])["log_odds"].mean().unstack().reindex(RISK_TIERS)
mean_terms = mean_terms[[t for t in terms if t in mean_terms.columns and t != "baseline"]]
fig, ax = plt.subplots(figsize=(10, 4))
mean_terms.T.plot.bar(ax=ax, rot=30)
ax.set_ylabel("mean log-odds")
ax.set_title("Mean contribution per term and tier (no visa)")
save(fig, "02_terms_by_tier")
display(mean_terms.round(3))

# %% [markdown]
# ## One program, explained
#
# The contributions behind the top program of the high-risk tier, as the published reasons
# give them: they add up to its logit.

# %%
high = "high" if "high" in RISK_TIERS else RISK_TIERS[-1]
best = no_visa[(no_visa["risk_tier"] == high) & no_visa["eligible"]].sort_values("p_interview", ascending=False).iloc[0]
why = reasons[(reasons["acgme_id"] == best["acgme_id"]) & (reasons["risk_tier"] == high) & (reasons["visa_need"] == "none")]
print(f"{best['program_name']} ({best['acgme_id']}), {high} risk: P(interview) {best['p_interview']:.3f}, band {best['band']}")
print(f"sum of log-odds: {why['log_odds'].sum():.4f} = logit {best['logit']:.4f}")
display(why[["term", "log_odds", "odds_multiplier", "basis", "evidence"]])

# %% [markdown]
# ## The model's constants and the validity checks

# %%
display(coefficients[["value", "unit", "basis", "source"]])
checked = validity[validity["passed"].notna()]
print(f"{int(checked['passed'].sum())} of {len(checked)} checks passed")
display(pd.DataFrame(validity.groupby("check")["passed"].agg(["count", "sum"])).rename(columns={"count": "checked", "sum": "passed"}))
