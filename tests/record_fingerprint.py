"""Record the fingerprint of a published version as the one refreshes must reproduce
(``tests/test_unchanged_outputs.py``). Run it only when a change is meant to change outputs:

    .venv/bin/python tests/record_fingerprint.py data/processed/current

The version must be the second of two refreshes like the ``published`` fixture's (the FREIDA
snapshot of 2025-05-24, then the current sources), since ``changes`` compares the two."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from imgpipeline.store import fingerprint, resolve_version

TARGET = Path(__file__).parent / "fixtures" / "published_fingerprint.json"

if __name__ == "__main__":
    version = resolve_version(Path(sys.argv[1]))
    TARGET.write_text(json.dumps(fingerprint(version), indent=1, sort_keys=True) + "\n")
    print(f"recorded {version.name} into {TARGET}")
