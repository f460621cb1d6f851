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
# # 01 · The program landscape
#
# Who trains IMGs in US internal medicine, where, with which visas, which programs are new, and
# where the public data is silent. Everything here is read from the current published version
# (`imgpipeline where`; set `IMGPIPELINE_PROCESSED_DIR` to read another folder); figures are
# saved next to it in `<version>/figures/`. Missing means the source does not say: it is
# counted, never filled in here.

# %% tags=["parameters"]
# The published version folder to read; None reads the current one. The refresh passes the
# version it has just published (`imgpipeline notebooks --version-dir` another).
version_dir = None

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

from imgpipeline.refresh.figures import figure_saver, open_version, source_caption
from imgpipeline.settings import get_settings
from imgpipeline.store import read_manifest, read_table

settings = get_settings()
version, figures = open_version(settings, version_dir)
save = figure_saver(figures, default_caption=source_caption(version, "acgme_programs", "freida_programs"))

programs = read_table("programs", settings, version)
features = read_table("program_features", settings, version)
manifest = read_manifest(settings, version)
snapshots = read_table("snapshots", settings, version)
print(f"version {version.name}: {len(programs)} programs; snapshots:")
for s in snapshots.itertuples():
    print(f"  {s.source} as of {s.as_of} (sha256 {s.sha256[:12]})")


# %% [markdown]
# ## IMG share by program type
#
# FREIDA states the share of current residents who are IMGs for most programs; for the rest
# `program_features` carries an imputed share (with an interval) or nothing. The boxes use
# stated shares only; the counts show how many of each type are imputed or unknown.

# %%
TYPES = ["university", "community_university_affiliated", "community", "military", "other", "unknown"]
stated = features[features["img_share_basis"] == "stated"]
fig, ax = plt.subplots(figsize=(9, 4.5))
present = [t for t in TYPES if (stated["program_type"] == t).any()]
ax.boxplot([stated.loc[stated["program_type"] == t, "img_share"].astype(float) for t in present], showfliers=False)
for i, t in enumerate(present, start=1):
    values = stated.loc[stated["program_type"] == t, "img_share"].astype(float)
    ax.scatter([i] * len(values), values, s=6, alpha=0.35, color="tab:blue")
ax.set_xticks(range(1, len(present) + 1), [t.replace("_", "\n") for t in present], fontsize=8)
ax.set_ylabel("share of residents who are IMGs (stated)")
ax.set_title("IMG share by FREIDA program type")
save(fig, "01_img_share_by_program_type")

by_type = features.groupby("program_type")["img_share_basis"].value_counts().unstack(fill_value=0)
by_type["median stated share"] = stated.groupby("program_type")["img_share"].median().round(3)
display(by_type.reindex([t for t in TYPES if t in by_type.index]))

# %% [markdown]
# ## IMG share by region

# %%
regions = ["Northeast", "Midwest", "South", "West", "Territory"]
fig, ax = plt.subplots(figsize=(8, 4))
present = [r for r in regions if (stated["census_region"] == r).any()]
ax.boxplot([stated.loc[stated["census_region"] == r, "img_share"].astype(float) for r in present], showfliers=False)
ax.set_xticks(range(1, len(present) + 1), present)
ax.set_ylabel("share of residents who are IMGs (stated)")
ax.set_title("IMG share by US Census region")
save(fig, "01_img_share_by_region")
display(
    features.groupby("census_region").agg(
        programs=("acgme_id", "size"),
        median_stated_share=("img_share", lambda s: s[features.loc[s.index, "img_share_basis"] == "stated"].median()),
        share_unknown=("img_share_basis", lambda s: (s == "unknown").mean().round(3)),
    )
)

# %% [markdown]
# ## Visa sponsorship
#
# Sponsorship as `program_features` decides it: FREIDA's list, overridden where the program's
# own text says otherwise (basis `stated`), `inferred` false where FREIDA lists no visa type,
# `unknown` where there is no FREIDA page.

# %%
visas = {"J-1": "sponsors_j1", "H-1B": "sponsors_h1b", "F-1": "sponsors_f1"}
rows = []
for label, col in visas.items():
    for t in TYPES:
        part = features[features["program_type"] == t]
        if len(part):
            rows.append({"visa": label, "program_type": t, "share sponsoring": (part[col] == True).mean()})  # noqa: E712
sponsor = pd.DataFrame(rows).pivot(index="program_type", columns="visa", values="share sponsoring")
sponsor = sponsor.reindex([t for t in TYPES if t in sponsor.index])[list(visas)]
fig, ax = plt.subplots(figsize=(9, 4))
sponsor.plot.bar(ax=ax, rot=0)
ax.set_xticks(range(len(sponsor)), [t.replace("_", "\n") for t in sponsor.index], fontsize=8)
ax.set_ylabel("share of programs")
ax.set_title("Visa sponsorship by program type")
save(fig, "01_visa_sponsorship_by_program_type")

basis = pd.DataFrame({label: features[f"{col}_basis"].value_counts() for label, col in visas.items()}).fillna(0).astype(int)
print("how sponsorship is known (programs):")
print(basis.to_string())
print(int(features["visa_text_conflict"].sum()), "programs whose text contradicts FREIDA's visa list")
display(sponsor.round(3))

# %% [markdown]
# ## New programs
#
# New programs (accredited within the rulebook's `new_program.max_age_years`) have few or no
# residents yet: a known opening for IMGs. FREIDA's first ACGME year says "2000" for every
# program in ACGME records since 2000 or earlier, so older ages are lower bounds.

# %%
new = features[features["new_program"] == True]  # noqa: E712
print(len(new), "new programs;", int(features["new_program"].isna().sum()), "of unknown age")
print(int((new["img_share_basis"] == "stated").sum()), "of the new programs have a stated IMG share")
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
ages = features["accreditation_age_years"].dropna().astype(int)
if len(ages):
    axes[0].hist(ages, bins=range(0, int(ages.max()) + 2), color="tab:gray")
else:  # a FREIDA snapshot without the first ACGME year (the 2025-05-24 one): say so
    axes[0].text(0.5, 0.5, "no accreditation age in this version's sources", ha="center", va="center", transform=axes[0].transAxes)
axes[0].set_xlabel("years in ACGME records (the last bar: since 2000 or earlier)")
axes[0].set_ylabel("programs")
axes[0].set_title("Accreditation age")
groups = {"new": new, "established": features[features["new_program"] == False]}  # noqa: E712
how = pd.DataFrame({k: g["img_share_basis"].value_counts() for k, g in groups.items()}).T.fillna(0)
how = how[[b for b in ["stated", "imputed", "unknown"] if b in how.columns]]
(how.div(how.sum(axis=1), axis=0)).plot.barh(stacked=True, ax=axes[1], colormap="viridis")
axes[1].set_xlabel("share of programs")
axes[1].set_title("How the IMG share is known: new vs established")
axes[1].legend(loc="lower right", fontsize=8)
save(fig, "01_new_programs")
display(
    new.merge(programs[["acgme_id", "city"]], on="acgme_id")[
        ["acgme_id", "program_name", "city", "state", "acgme_first_year", "program_type", "img_share", "img_share_basis", "sponsors_j1", "sponsors_h1b"]
    ].sort_values("acgme_first_year", ascending=False).head(15)
)

# %% [markdown]
# ## Where the data is missing
#
# The share of programs for which each FREIDA field is missing (six programs have no FREIDA
# page at all), and, for each feature, how it is known.

# %%
freida_fields = [
    "program_type_stated", "first_year_positions", "interviews_last_year", "img_share",
    "visas_listed", "acgme_first_year", "special_features_text", "avg_hours_on_duty_y1",
]
missing = programs[freida_fields].isna().mean().sort_values()
fig, ax = plt.subplots(figsize=(8, 4))
missing.plot.barh(ax=ax, color="tab:red")
ax.set_xlabel("share of programs with no value")
ax.set_title(f"Missing FREIDA fields ({int((~programs['in_freida']).sum())} programs have no FREIDA page)")
save(fig, "01_missing_freida_fields")

bases = [c for c in features.columns if c.endswith("_basis")]
known = pd.DataFrame({c.removesuffix("_basis"): features[c].value_counts() for c in bases}).T.fillna(0).astype(int)
known = known[[b for b in ["stated", "imputed", "inferred", "unknown"] if b in known.columns]]
fig, ax = plt.subplots(figsize=(9, 6))
known.plot.barh(stacked=True, ax=ax, colormap="viridis")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
ax.set_xlabel("programs")
ax.set_title("How each feature is known")
save(fig, "01_feature_basis")
display(known)

# %% [markdown]
# ## Since the last refresh
#
# `changes.parquet` names what changed since the previous version (empty after a first
# publication).

# %%
changes = read_table("changes", settings, version)
print("compared with:", manifest.get("changes_from"))
print(changes["change"].value_counts().to_string() if len(changes) else "no changes")
display(changes[["change", "table", "column", "acgme_id", "detail"]].head(20))
