"""The ``program_features`` section of the rulebook, as a typed model.

Every threshold the feature step uses lives in that section, so a reader of the rulebook sees
exactly how a tier, a new-program flag or a YOG-tolerance level was derived."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from imgpipeline.settings import Settings

ProgramType = Literal[
    "university", "community_university_affiliated", "community", "military", "other", "unknown"
]
Tier = Literal["highly_competitive_academic", "mid_tier_academic_hybrid", "community"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ImgShareModel(_Strict):
    """Gradient-boosting settings of the IMG-share imputation."""

    max_iter: int = Field(gt=0)
    learning_rate: float = Field(gt=0)
    max_depth: int | None = Field(gt=0)
    min_samples_leaf: int = Field(gt=0)
    l2_regularization: float = Field(ge=0)


PeerGroup = Literal["system", "state", "city"]


class ImgSharePeers(_Strict):
    """Peer signals: the stated shares of the program's other programs in the same group."""

    groups: tuple[PeerGroup, ...]
    smoothing: float = Field(ge=0)
    system_generic_words: tuple[str, ...]


class ImgShareRules(_Strict):
    """How a missing IMG share is imputed, and when it is left unknown."""

    interval_coverage: float = Field(gt=0, lt=1)
    cv_folds: int = Field(ge=2)
    min_predictors: int = Field(ge=1)
    predictor_signals: tuple[str, ...]
    peers: ImgSharePeers
    model: ImgShareModel


class NewProgramRules(_Strict):
    max_age_years: int = Field(ge=0)


class HighlyCompetitiveRules(_Strict):
    program_types: tuple[ProgramType, ...]
    max_img_share: float = Field(ge=0, le=1)
    min_first_year_positions: int = Field(ge=0)
    min_interviews_last_year: int = Field(ge=0)


class TierRules(_Strict):
    highly_competitive_academic: HighlyCompetitiveRules
    hybrid_max_img_share: float = Field(ge=0, le=1)
    hybrid_large_min_first_year_positions: int = Field(ge=0)
    hybrid_large_max_img_share: float = Field(ge=0, le=1)
    academic_types: tuple[ProgramType, ...]
    community_types: tuple[ProgramType, ...]
    military_tier: Tier
    new_program_tier: Tier
    fallback_tier: Tier


class YogRules(_Strict):
    tolerant_min_img_share: float = Field(ge=0, le=1)
    tolerant_program_types: tuple[ProgramType, ...]
    tolerant_requires_j1: bool
    strict_max_img_share: float = Field(ge=0, le=1)
    strict_tiers: tuple[Tier, ...]


class FeatureRules(_Strict):
    """The whole ``program_features`` section."""

    img_share: ImgShareRules
    new_program: NewProgramRules
    tier: TierRules
    yog: YogRules


def feature_rules(settings: Settings) -> FeatureRules:
    """The section, validated; a typo fails here, naming the field."""
    return settings.rulebook.typed("program_features", FeatureRules)
