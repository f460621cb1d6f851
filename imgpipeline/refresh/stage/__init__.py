"""Staging: each source's landed snapshot read into typed frames, one shape for every source.

Each module has ``stage_<source>(snapshot) -> Staged``: the frames it makes (by declared table
name, coerced to their declarations, or an intermediate name for a frame the build step
finishes), and notes for the run summary. ``stages()`` maps each source to its function, so the
refresh flow stages every snapshot through one generic task.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from imgpipeline.refresh.stage import acgme, charting, freida, freida2016, nrmp_results
from imgpipeline.refresh.stage.staged import Staged

if TYPE_CHECKING:
    from imgpipeline.refresh.land import Snapshot

__all__ = ["Staged", "stage_snapshot", "stages"]


def stages() -> dict[str, Callable[[Snapshot], Staged]]:
    """Source name -> its staging function."""
    return {
        "acgme_programs": acgme.stage_acgme_programs,
        "freida_programs": freida.stage_freida_programs,
        "freida_2016": freida2016.stage_freida_2016,
        "nrmp_charting_outcomes": charting.stage_nrmp_charting_outcomes,
        "nrmp_program_results_fl": nrmp_results.stage_nrmp_program_results_fl,
    }


def stage_snapshot(snap: Snapshot) -> Staged:
    """Stage one landed snapshot with its source's function."""
    return stages()[snap.source](snap)
