"""Program features for IMG applicants: stated, imputed, inferred or unknown, each with its
evidence (docs/features.md).

``build_features(programs)`` makes the published ``program_features`` and ``feature_evidence``
tables and the IMG-share imputation's measured error; ``visa_conflicts(programs)`` lists the
programs whose text contradicts FREIDA's visa list (for the ``conflicts`` table)."""

from imgpipeline.refresh.features.build import FEATURES, FeatureTables, basis_counts, build_features
from imgpipeline.refresh.features.img_share import metrics_markdown
from imgpipeline.refresh.features.visa import visa_conflicts

__all__ = [
    "FEATURES",
    "FeatureTables",
    "basis_counts",
    "build_features",
    "metrics_markdown",
    "visa_conflicts",
]
