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
# # 02 · Program scores by applicant risk tier
#
# `program_scores` has one row per program, applicant risk tier and visa need: a 0-100 score
# (how reachable the program is for the tier's typical applicant), a band (reach / target /
# likely, or excluded) and the contributions that add up to the score (`score_reasons`). This
# notebook shows how the scores are distributed per tier, the top programs of each tier, and
# what drives them. Read from the current published version; figures saved in
# `<version>/figures/`.

# %% tags=["parameters"]
# The published version folder to read; None reads the current one. The refresh passes the
# version it has just published (`imgpipeline notebooks --version-dir` another).
version_dir = None

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

from imgpipeline.figures import figure_saver, open_version, source_caption
from imgpipeline.publish import read_table
from imgpipeline.settings import get_settings
from imgpipeline.tables import TABLES

settings = get_settings()
version, figures = open_version(settings, version_dir)
save = figure_saver(figures, default_caption=source_caption(version, "acgme_programs", "freida_programs", "freida_2016"))

scores = read_table("program_scores", settings, version)
reasons = read_table("score_reasons", settings, version)
validity = read_table("score_validity", settings, version)
declared = TABLES["program_scores"]
RISK_TIERS = [t for t in declared.column("risk_tier").allowed or () if (scores["risk_tier"] == t).any()]
BANDS = list(declared.column("band").allowed or ())
print(f"version {version.name}: {scores['acgme_id'].nunique()} programs x {scores.groupby(['risk_tier', 'visa_need']).ngroups} tier/visa pairs = {len(scores)} rows")
print("risk tiers:", ", ".join(RISK_TIERS))


# %% [markdown]
# ## Score distributions
#
# For an applicant who needs no visa (the visa need only removes programs), scores of the
# eligible programs per risk tier; and the band mix per tier and visa need.

# %%
no_visa = scores[scores["visa_need"] == "none"]
fig, ax = plt.subplots(figsize=(8, 4))
ax.violinplot([no_visa.loc[(no_visa["risk_tier"] == t) & no_visa["eligible"], "score"].astype(float) for t in RISK_TIERS], showmedians=True)
ax.set_xticks(range(1, len(RISK_TIERS) + 1), RISK_TIERS)
ax.set_ylabel("score (0-100)")
ax.set_title("Scores of eligible programs by applicant risk tier (no visa needed)")
save(fig, "02_score_distributions")

mix = scores.groupby(["risk_tier", "visa_need"])["band"].value_counts(normalize=True).unstack(fill_value=0.0)
mix = mix[[b for b in BANDS if b in mix.columns]]
mix = mix.reindex([(t, v) for t in RISK_TIERS for v in declared.column("visa_need").allowed or () if (t, v) in mix.index])
fig, ax = plt.subplots(figsize=(9, 5))
mix.plot.barh(stacked=True, ax=ax, color={"reach": "tab:red", "target": "tab:orange", "likely": "tab:green", "excluded": "lightgray"})
ax.set_yticks(range(len(mix)), [f"{t} / visa {v}" for t, v in mix.index], fontsize=8)
ax.invert_yaxis()
ax.set_xlabel("share of programs")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
ax.set_title("Band mix by risk tier and visa need")
save(fig, "02_band_mix")
display(mix.round(3))

# %% [markdown]
# ## Top programs per tier
#
# The ten highest-scoring eligible programs for each risk tier (no visa needed), with what the
# score rests on. Ties are common: the score rewards signals, and many community programs
# share the same ones.

# %%
cols = ["acgme_id", "program_name", "state", "program_tier", "img_share", "img_share_basis", "score", "band"]
for tier in RISK_TIERS:
    top = no_visa[(no_visa["risk_tier"] == tier) & no_visa["eligible"]].sort_values(["score", "img_share"], ascending=False).head(10)
    print(f"\n{tier}: top 10 of {int(((no_visa['risk_tier'] == tier) & no_visa['eligible']).sum())} eligible programs")
    display(top[cols].round(3))

# %% [markdown]
# ## What drives the scores
#
# The mean points each factor contributes, per risk tier (no visa needed): the same program
# signals weigh differently for different applicants.

# %%
factors = list(TABLES["score_reasons"].column("factor").allowed or ())
mean_points = (
    reasons[reasons["visa_need"] == "none"].groupby(["risk_tier", "factor"])["points"].mean().unstack().reindex(RISK_TIERS)
)
mean_points = mean_points[[f for f in factors if f in mean_points.columns and f != "base"]]
fig, ax = plt.subplots(figsize=(10, 4.5))
mean_points.T.plot.bar(ax=ax, rot=30)
ax.axhline(0, color="black", linewidth=0.8)
ax.set_ylabel("mean points")
ax.set_title("Mean contribution of each factor by risk tier (the tier's base left out)")
save(fig, "02_factor_contributions")
display(mean_points.round(2))

fig, axes = plt.subplots(1, len(RISK_TIERS), figsize=(4 * len(RISK_TIERS), 3.8), sharey=True, squeeze=False)
for ax, tier in zip(axes[0], RISK_TIERS, strict=True):
    part = no_visa[(no_visa["risk_tier"] == tier) & no_visa["img_share"].notna()]
    for program_tier, color in (("community", "tab:green"), ("mid_tier_academic_hybrid", "tab:orange"), ("highly_competitive_academic", "tab:red")):
        sel = part[part["program_tier"] == program_tier]
        ax.scatter(sel["img_share"].astype(float), sel["score"].astype(float), s=6, alpha=0.5, color=color, label=program_tier)
    ax.set_title(tier)
    ax.set_xlabel("IMG share")
axes[0][0].set_ylabel("score")
axes[0][-1].legend(fontsize=7, loc="lower right")
save(fig, "02_score_vs_img_share")

# %% [markdown]
# ## One program, explained
#
# The contributions behind the top program of the high-risk tier, as the published reasons
# give them: they add up to its score.

# %%
high = "high" if "high" in RISK_TIERS else RISK_TIERS[-1]
best = no_visa[(no_visa["risk_tier"] == high) & no_visa["eligible"]].sort_values("score", ascending=False).iloc[0]
why = reasons[(reasons["acgme_id"] == best["acgme_id"]) & (reasons["risk_tier"] == high) & (reasons["visa_need"] == "none")]
print(f"{best['program_name']} ({best['acgme_id']}), {high} risk: score {best['score']:.1f}, band {best['band']}")
print(f"sum of contributions: {why['points'].sum():.1f}")
display(why[["factor", "points", "basis", "evidence"]])

# %% [markdown]
# ## Validity checks
#
# The published checks of the scores against what the data can say (`score_validity`).

# %%
checked = validity[validity["passed"].notna()]
print(f"{int(checked['passed'].sum())} of {len(checked)} checks passed")
display(pd.DataFrame(validity.groupby("check")["passed"].agg(["count", "sum"])).rename(columns={"count": "checked", "sum": "passed"}))
