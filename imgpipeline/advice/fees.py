"""ERAS application fees, from the schedule in the rulebook's ``fees`` section (with its season,
as-of date and source), so a list's cost can be shown beside its size."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from imgpipeline.settings import Settings


class FeeBand(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    first: int = Field(ge=1)
    last: int | None
    usd_each: float = Field(ge=0)


class FeeSchedule(BaseModel):
    """One published fee schedule: per-program fees by position in a specialty's list."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    season: str
    as_of: str
    source: str
    url: str
    currency: str
    per: str
    bands: tuple[FeeBand, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _contiguous(self) -> FeeSchedule:
        expected = 1
        for i, b in enumerate(self.bands):
            if b.first != expected:
                raise ValueError(f"fee band {i} starts at {b.first}, expected {expected}")
            if b.last is None:
                if i != len(self.bands) - 1:
                    raise ValueError("only the last fee band may be open-ended")
                return self
            expected = b.last + 1
        raise ValueError("the last fee band must be open-ended (last: null)")

    def cost(self, n_programs: int) -> float:
        """Fee for applying to ``n_programs`` programs of one specialty."""
        if n_programs < 0:
            raise ValueError("n_programs cannot be negative")
        total = 0.0
        for b in self.bands:
            top = n_programs if b.last is None else min(n_programs, b.last)
            if top >= b.first:
                total += (top - b.first + 1) * b.usd_each
        return total


    def covers(self, budget: float, at_most: int = 10_000) -> int:
        """The largest number of programs whose fee fits ``budget`` (fees only grow with n:
        found by halving, up to ``at_most``)."""
        lo, hi = 0, at_most
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.cost(mid) <= budget:
                lo = mid
            else:
                hi = mid - 1
        return lo


def eras_schedule(settings: Settings) -> FeeSchedule:
    """The ERAS schedule of the settings' rulebook, validated once per settings object."""
    return settings.rulebook.typed("fees", _eras)


def _eras(raw: dict[str, Any]) -> FeeSchedule:
    return FeeSchedule.model_validate(raw["eras_residency"])


def eras_fee(n_programs: int, settings: Settings) -> float:
    """ERAS application fee (USD) for ``n_programs`` IM programs under the settings' schedule."""
    return eras_schedule(settings).cost(n_programs)
