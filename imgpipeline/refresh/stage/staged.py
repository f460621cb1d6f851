"""What staging one snapshot gives (``imgpipeline.refresh.stage``: one shape for every source)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd



@dataclass
class Staged:
    """What staging one snapshot gives."""

    source: str
    frames: dict[str, pd.DataFrame]
    notes: list[str] = field(default_factory=list)
    # Ids of rows the file repeats exactly, collapsed into one (for the run summary); None for
    # a source whose staging does not collapse duplicates.
    collapsed: list[str] | None = None

    @property
    def frame(self) -> pd.DataFrame:
        """The one frame of a source that stages one."""
        (only,) = self.frames.values()
        return only
