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
# # 03 · The match-probability curve
#
# The chance a non-US IMG matches in internal medicine, by Step 2 CK and by the number of
# contiguous ranks, as published in `match_probability_curve` (fitted to NRMP Charting Outcomes
# 2026; how: docs/scoring.md). The band is the curve's uncertainty; where the published data
# stop (`support` = extrapolated) there is no estimate, only the band monotonicity implies.
# Read from the current published version; figures saved in `<version>/figures/`.

# %% tags=["parameters"]
# The published version folder to read; None reads the current one. The refresh passes the
# version it has just published (`imgpipeline notebooks --version-dir` another).
version_dir = None

# %%
import matplotlib.pyplot as plt
from IPython.display import display

from imgpipeline.refresh.figures import figure_saver, open_version, source_caption
from imgpipeline.settings import get_settings
from imgpipeline.store import read_table

settings = get_settings()
version, figures = open_version(settings, version_dir)
save = figure_saver(figures, default_caption=source_caption(version, "nrmp_charting_outcomes"))

curve = read_table("match_probability_curve", settings, version)
outcomes = read_table("charting_outcomes", settings, version)
print(f"version {version.name}: {len(curve)} curve points, {curve['specialty'].nunique()} specialty")
print("source:", ", ".join(sorted(curve["charting_snapshot"].unique())))


# %% [markdown]
# ## The curves and their bands
#
# Solid where the published quartiles are (`core`), dashed between the quartiles and the
# published minimum or maximum (`tail`: few applicants), nothing but the band outside them.
# The dotted line is the published overall match rate of non-US IMGs in IM; the ticks are the
# published medians of matched (green) and unmatched (red) applicants.

# %%
LABELS = {"step2ck": "USMLE Step 2 CK score", "contiguous_ranks": "contiguous ranks (programs)"}
measures = [m for m in LABELS if (curve["measure"] == m).any()]
fig, axes = plt.subplots(1, len(measures), figsize=(6 * len(measures), 4.5), squeeze=False)
for ax, measure in zip(axes[0], measures, strict=True):
    c = curve[curve["measure"] == measure].sort_values("value")
    x = c["value"].astype(float)
    ax.fill_between(x, c["p_match_low"].astype(float), c["p_match_high"].astype(float), color="tab:blue", alpha=0.2, label="band")
    for support, style in (("core", "-"), ("tail", "--")):
        part = c["p_match"].astype(float).where(c["support"] == support)
        ax.plot(x, part, style, color="tab:blue", label=f"p(match), {support}")
    rate = float(c["img_matched"].iloc[0] / c["img_total"].iloc[0])
    ax.axhline(rate, linestyle=":", color="gray", label=f"overall rate {rate:.2f}")
    published = outcomes[(outcomes["specialty"] == c["specialty"].iloc[0]) & (outcomes["measure"] == measure)]
    for row in published.itertuples():
        ax.axvline(row.median, ymax=0.06, color="tab:green" if row.outcome == "matched" else "tab:red", linewidth=3)
    ax.set_xlabel(LABELS[measure])
    ax.set_ylabel("chance of matching")
    ax.set_ylim(0, 1)
    ax.set_title(f"{c['specialty'].iloc[0]}: by {LABELS[measure].split(' (')[0]}")
    ax.legend(fontsize=8, loc="upper left")
save(fig, "03_match_probability_curves")

# %% [markdown]
# ## Step 2 CK thresholds of the article
#
# The chance, its band and the support at the scores the article names (Step 2 CK below ~230
# is low for competitive IM, below ~220 for many community programs, 215 or less is high risk;
# 235-240+ partly offsets a weak Step 1).

# %%
step2 = curve[curve["measure"] == "step2ck"].set_index("value")
points = [v for v in (205, 210, 215, 220, 225, 230, 235, 240, 250, 260) if v in step2.index]
table = step2.loc[points, ["p_match", "p_match_low", "p_match_high", "support"]].astype({"p_match": "Float64"}).round(3)
display(table)
extrapolated = step2[step2["support"] == "extrapolated"].index
print(
    f"no estimate below {int(step2[step2['support'] != 'extrapolated'].index.min())} "
    f"or above {int(step2[step2['support'] != 'extrapolated'].index.max())}: "
    f"{len(extrapolated)} grid points are outside the published range"
)

# %% [markdown]
# ## How wide the band is
#
# Uncertainty by score: widest where few applicants are (tails) and outside the data.

# %%
fig, ax = plt.subplots(figsize=(7, 3.5))
width = (step2["p_match_high"] - step2["p_match_low"]).astype(float)
for support, color in (("core", "tab:blue"), ("tail", "tab:orange"), ("extrapolated", "tab:gray")):
    part = width[step2["support"] == support]
    ax.bar(part.index, part, width=1.0, color=color, label=support)
ax.set_xlabel(LABELS["step2ck"])
ax.set_ylabel("band width")
ax.legend(fontsize=8)
ax.set_title("Width of the uncertainty band, by support")
save(fig, "03_band_width")
display(step2.groupby("support").agg(points=("p_match_low", "size"), mean_band_width=("p_match_high", lambda s: float((s - step2.loc[s.index, "p_match_low"]).mean()))).round(3))
