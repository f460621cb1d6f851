"""The advice's arrays of a version kept between processes (``store.cached``, used by
``advice.published``): the cached arrays give the same recommendation as those read from the
Parquet; a damaged, stale or foreign entry is ignored and built again; a cache that cannot be
written is skipped; nothing is written into the version itself."""

from __future__ import annotations

import pickle
from pathlib import Path

import orjson
import pytest

from imgpipeline.advice import published as pub
from imgpipeline.advice.profile import load_profile
from imgpipeline.advice.recommend import recommend
from imgpipeline.settings import Settings
from imgpipeline.store import cached, resolve_version

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "moderately_low_j1.yaml"


class Counter:
    """A build function that says how often it ran."""

    def __init__(self, value: object = "built") -> None:
        self.value, self.runs = value, 0

    def __call__(self) -> object:
        self.runs += 1
        return self.value


@pytest.fixture
def version(tmp_path: Path) -> Path:
    folder = tmp_path / "processed" / "versions" / "20260101T000000000000Z"
    folder.mkdir(parents=True)
    (folder / "a.parquet").write_bytes(b"first")
    return folder


def entries(cache: Path) -> list[Path]:
    return sorted(cache.glob("t-*.pickle"))


def test_built_once_then_read_from_the_cache(version: Path, tmp_path: Path) -> None:
    cache, build = tmp_path / "cache", Counter()
    assert cached(version, "t", ["a.parquet"], [], build, cache) == "built"
    assert cached(version, "t", ["a.parquet"], [], build, cache) == "built"
    assert build.runs == 1 and len(entries(cache)) == 1
    assert not list(cache.glob(".*"))  # no temporary file left
    assert sorted(p.name for p in version.iterdir()) == ["a.parquet"]  # nothing written into the version


@pytest.mark.parametrize("damage", [b"", b"not a pickle", b"\x80\x05\x95truncated"])
def test_a_damaged_entry_is_ignored_and_rewritten(version: Path, tmp_path: Path, damage: bytes) -> None:
    cache, build = tmp_path / "cache", Counter()
    cached(version, "t", ["a.parquet"], [], build, cache)
    (entry,) = entries(cache)
    entry.write_bytes(damage)
    assert cached(version, "t", ["a.parquet"], [], build, cache) == "built" and build.runs == 2
    assert pickle.loads(entry.read_bytes())["value"] == "built"  # rewritten whole
    assert cached(version, "t", ["a.parquet"], [], build, cache) == "built" and build.runs == 2


def test_an_entry_of_another_key_or_type_is_ignored(version: Path, tmp_path: Path) -> None:
    cache, build = tmp_path / "cache", Counter()
    cached(version, "t", ["a.parquet"], [], build, cache)
    (entry,) = entries(cache)
    entry.write_bytes(pickle.dumps({"key": "another", "value": "stale"}))
    assert cached(version, "t", ["a.parquet"], [], build, cache) == "built" and build.runs == 2
    # the right key but not the expected type
    key = pickle.loads(entry.read_bytes())["key"]
    entry.write_bytes(pickle.dumps({"key": key, "value": 42}))
    assert cached(version, "t", ["a.parquet"], [], build, cache, kind=str) == "built" and build.runs == 3


def test_a_changed_input_or_code_is_built_again(version: Path, tmp_path: Path) -> None:
    cache, code = tmp_path / "cache", tmp_path / "builder.py"
    code.write_text("v = 1\n")
    first, second, third = Counter("first"), Counter("second"), Counter("third")
    assert cached(version, "t", ["a.parquet"], [code], first, cache) == "first"
    (version / "a.parquet").write_bytes(b"second file")  # a version rewritten in place (size, mtime)
    assert cached(version, "t", ["a.parquet"], [code], second, cache) == "second"
    code.write_text("v = 2\n")  # the code that builds it changed
    assert cached(version, "t", ["a.parquet"], [code], third, cache) == "third"
    assert (first.runs, second.runs, third.runs) == (1, 1, 1)


def test_an_unwritable_cache_is_skipped(version: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    build = Counter()
    assert cached(version, "t", ["a.parquet"], [], build, blocker / "cache") == "built"
    assert cached(version, "t", ["a.parquet"], [], build, None) == "built"  # no cache at all
    assert build.runs == 2


def test_the_cached_arrays_give_the_same_recommendation(published: Settings, tmp_path: Path) -> None:
    folder = resolve_version(published)
    settings = published.model_copy(update={"cache_dir": tmp_path / "cache"})
    profile = load_profile(EXAMPLE, settings)
    pub._load.cache_clear()
    try:
        written = pub.load_published(settings)  # read from the Parquet, then cached
        assert list((tmp_path / "cache" / "advice").glob(f"published-{folder.name}-*.pickle"))
        pub._load.cache_clear()
        again = pub.load_published(settings)  # from the cache
        assert again is not written and again.folder == folder and again.version == written.version
        pub._load.cache_clear()
        uncached = pub._load(folder, None)
    finally:
        pub._load.cache_clear()
    as_json = [orjson.dumps(recommend(profile, d, settings=settings).to_json(), default=str) for d in (uncached, written, again)]
    assert as_json[0] == as_json[1] == as_json[2]
