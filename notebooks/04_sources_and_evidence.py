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
# # 04 · Sources and evidence
#
# What the published numbers stand on: NRMP Florida fill over 2020-2026 and how NRMP codes
# link to ACGME programs (the crosswalk), where the sources disagree (conflicts) and what could
# not be linked (unmatched records), how much of each feature is stated rather than imputed,
# inferred or unknown (feature evidence), stated against imputed IMG shares with their
# intervals, and the 2016 FREIDA score minimums (dated evidence). Every figure is captioned
# with its source snapshot and as-of date; n is given per group.

# %% tags=["parameters"]
# The published version folder to read; None reads the current one. The refresh passes the
# version it has just published (`imgpipeline notebooks --version-dir` another).
version_dir = None

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

from imgpipeline.refresh.figures import caption, figure_saver, open_version, source_caption
from imgpipeline.settings import get_settings
from imgpipeline.store import read_table

settings = get_settings()
version, figures = open_version(settings, version_dir)
save = figure_saver(figures)

results = read_table("nrmp_program_results", settings, version)
crosswalk = read_table("nrmp_crosswalk", settings, version)
conflicts = read_table("conflicts", settings, version)
unmatched = read_table("unmatched_records", settings, version)
evidence = read_table("feature_evidence", settings, version)
features = read_table("program_features", settings, version)
minimums = read_table("program_minimums_2016", settings, version)
print(f"version {version.name}")

# %% [markdown]
# ## Florida internal medicine: positions and fill, 2020-2026
#
# NRMP Main Match results for Florida IM programs (categorical and preliminary tracks), by
# whether the crosswalk links the NRMP code to an ACGME program. Positions = the Match quota;
# fill rate = matched / quota, over the programs that offered positions that year.

# %%
im = results[results["is_internal_medicine"].fillna(False).astype(bool)].copy()
im = im.merge(crosswalk[["program_code", "linked", "method"]], on="program_code", how="left")
im["linked"] = im["linked"].fillna(False).astype(bool)
by_year = (
    im.groupby(["year", "linked"])
    .agg(programs_offering=("offered", "sum"), positions=("quota", "sum"), matched=("matched", "sum"))
    .reset_index()
)
by_year["fill_rate"] = (by_year["matched"] / by_year["positions"]).astype(float)
display(by_year)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
for linked, part in by_year.groupby("linked"):
    label = "linked to ACGME" if linked else "not linked"
    ax1.bar(part["year"] + (0.2 if linked else -0.2), part["positions"], width=0.4, label=label)
    ax2.plot(part["year"], part["fill_rate"], marker="o", label=label)
ax1.set_title("Florida IM positions offered, by crosswalk link")
ax1.set_xlabel("Match year")
ax1.set_ylabel("positions (Match quota)")
ax1.legend()
ax2.set_title("Florida IM fill rate (matched / quota)")
ax2.set_xlabel("Match year")
ax2.set_ylim(0, 1.05)
ax2.legend()
n_codes = im.groupby("linked")["program_code"].nunique().to_dict()
caption(
    fig,
    source_caption(
        version, "nrmp_program_results_fl", "acgme_programs",
        note=f"n NRMP codes: linked {n_codes.get(True, 0)}, not linked {n_codes.get(False, 0)}",
    ),
)
save(fig, "04_florida_fill")

# %%
print("crosswalk: NRMP IM codes by link method")
display(crosswalk.groupby(["method", "linked"]).size().rename("codes").reset_index())  # methods in their declared order

# %% [markdown]
# ## Where the sources disagree, and what could not be linked

# %%
# `kind` is a closed set (a categorical): grouped and labelled by its name.
kinds = conflicts.astype({"kind": "str"}).groupby(["field", "kind"]).size().rename("n").reset_index().sort_values("n")
lost = unmatched.groupby(["source", "missing_from"]).size().rename("n").reset_index()
display(kinds)
display(lost)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
ax1.barh(kinds["field"] + " · " + kinds["kind"], kinds["n"], color="#b05a2a")
ax1.set_title(f"Conflicts between sources (n = {len(conflicts)})")
ax1.set_xlabel("records")
ax2.barh(lost["source"] + " not in " + lost["missing_from"], lost["n"], color="#5a6cb0")
ax2.set_title(f"Unmatched records (n = {len(unmatched)})")
ax2.set_xlabel("records")
caption(fig, source_caption(version, "acgme_programs", "freida_programs", "freida_2016", "nrmp_program_results_fl"))
save(fig, "04_conflicts_and_unmatched")

# %% [markdown]
# ## Feature evidence: stated, imputed, inferred or unknown
#
# Share of the programs whose value of each feature rests on each basis (the rows of
# `feature_evidence`; a program without a row for a feature counts as unknown).

# %%
n_programs = features["acgme_id"].nunique()
coverage = evidence.groupby(["feature", "basis"])["acgme_id"].nunique().unstack(fill_value=0)
for basis in ("stated", "imputed", "inferred", "unknown"):
    if basis not in coverage:
        coverage[basis] = 0
coverage["unknown"] = n_programs - coverage[["stated", "imputed", "inferred"]].sum(axis=1)
coverage = coverage[["stated", "imputed", "inferred", "unknown"]].sort_values("stated")
display(coverage)

fig, ax = plt.subplots(figsize=(9, 0.28 * len(coverage) + 1.5))
left = pd.Series(0.0, index=coverage.index)
colors = {"stated": "#2a7b3f", "imputed": "#d6a72b", "inferred": "#5a8fd6", "unknown": "#bbbbbb"}
for basis in coverage.columns:
    share = coverage[basis] / n_programs
    ax.barh(coverage.index, share, left=left, color=colors[basis], label=basis)
    left += share
ax.set_xlim(0, 1)
ax.set_xlabel(f"share of programs (n = {n_programs})")
ax.set_title("Feature evidence coverage by basis")
ax.legend(loc="lower right", fontsize=8)
caption(fig, source_caption(version, "acgme_programs", "freida_programs"))
save(fig, "04_feature_evidence_coverage")

# %% [markdown]
# ## IMG share: stated by the program, or imputed with an 80% interval

# %%
share = features[features["img_share"].notna()].copy()
share = share.sort_values("img_share").reset_index(drop=True)
stated = share[share["img_share_basis"] == "stated"]
imputed = share[share["img_share_basis"] == "imputed"]
print(f"stated {len(stated)}, imputed {len(imputed)}, unknown {features['img_share'].isna().sum()}")

fig, ax = plt.subplots(figsize=(10, 4.5))
ax.scatter(stated.index, stated["img_share"], s=6, color="#2a7b3f", label=f"stated (n = {len(stated)})")
ax.errorbar(
    imputed.index,
    imputed["img_share"],
    yerr=[
        (imputed["img_share"] - imputed["img_share_low"]).clip(lower=0),
        (imputed["img_share_high"] - imputed["img_share"]).clip(lower=0),
    ],
    fmt="o",
    ms=3,
    color="#d6a72b",
    ecolor="#e8c872",
    elinewidth=0.8,
    label=f"imputed, 80% interval (n = {len(imputed)})",
)
ax.set_xlabel("programs, ordered by IMG share")
ax.set_ylabel("IMG share of residents")
ax.set_ylim(0, 1)
ax.set_title("IMG share: stated vs imputed")
ax.legend()
caption(fig, source_caption(version, "freida_programs", "acgme_programs"))
save(fig, "04_img_share_stated_vs_imputed")

# %% [markdown]
# ## 2016 FREIDA score minimums (dated evidence)
#
# Step 1 and Step 2 CK minimums as FREIDA listed them in 2016, for the programs that stated
# one. Ten years old: a hint of a filter, never today's rule.

# %%
fig, ax = plt.subplots(figsize=(8, 4))
for col, label, color in (("step1_min_score", "Step 1", "#5a6cb0"), ("step2_min_score", "Step 2 CK", "#b05a2a")):
    values = minimums[col].dropna()
    ax.hist(values, bins=range(170, 250, 5), alpha=0.6, color=color, label=f"{label} (n = {len(values)})")
ax.set_xlabel("stated minimum score (2016)")
ax.set_ylabel("programs")
ax.set_title(f"2016 FREIDA score minimums (n = {len(minimums)} 2016 IM pages)")
ax.legend()
caption(fig, source_caption(version, "freida_2016"))
save(fig, "04_minimums_2016")
