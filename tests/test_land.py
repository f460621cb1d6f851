"""Landing: byte-exact, immutable copies under raw/<source>/<as-of>/ with one manifest row each,
from the mirror folder and from an HTTP server serving the real files."""

from __future__ import annotations

import hashlib
import shutil
import stat
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from imgpipeline.errors import LandingError
from imgpipeline.refresh.land import land_snapshot, read_landings
from imgpipeline.settings import Settings, get_settings

ACGME_REL = "acgme/internal-medicine-programs_2024-2025.pdf"
FREIDA_REL = "freida/internal-medicine-programs_2025-05-26.csv"
FREIDA_OLD_REL = "freida/internal-medicine-programs_2025-05-24.csv"


def sums(data_dir: Path) -> dict[str, str]:
    """The mirror's own SHA256SUMS, read independently of the code under test."""
    out = {}
    for line in (data_dir / "SHA256SUMS").read_text().splitlines():
        digest, rel = line.split()
        out[rel.lstrip("*")] = digest
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---- from the mirror folder -------------------------------------------------------------


def test_land_copies_the_real_pdf_read_only_with_a_full_manifest_row(
    tmp_settings: Settings, data_dir: Path
) -> None:
    snap = land_snapshot("acgme_programs", tmp_settings)

    landed = tmp_settings.raw_dir / "acgme_programs" / "2025-05-02" / Path(ACGME_REL).name
    assert snap.local_path == landed
    assert landed.read_bytes() == (data_dir / ACGME_REL).read_bytes()
    assert stat.S_IMODE(landed.stat().st_mode) & 0o222 == 0, "landed file must be read-only"

    rows = read_landings(tmp_settings)
    assert len(rows) == 1
    row = rows[0]
    assert row["source"] == "acgme_programs"
    assert row["location"] == str(data_dir / ACGME_REL)
    assert row["as_of"] == "2025-05-02"
    assert datetime.fromisoformat(row["retrieved_at"]).tzinfo is not None
    assert row["sha256"] == sums(data_dir)[ACGME_REL] == snap.sha256
    assert row["size_bytes"] == (data_dir / ACGME_REL).stat().st_size == 521803
    assert "ACGME" in row["rights"]
    assert row["path"] == str(landed)
    assert snap.snapshot_id == f"acgme_programs@2025-05-02#{row['sha256'][:12]}"


def test_landing_the_same_bytes_twice_reuses_the_file_and_the_row(tmp_settings: Settings) -> None:
    first = land_snapshot("freida_programs", tmp_settings)
    mtime = first.local_path.stat().st_mtime_ns
    second = land_snapshot("freida_programs", tmp_settings)

    assert second == first, "the second landing returns the first landing's record"
    assert first.local_path.stat().st_mtime_ns == mtime
    assert len(read_landings(tmp_settings)) == 1
    assert [p.name for p in first.local_path.parent.iterdir()] == [first.local_path.name]


def test_different_bytes_under_the_same_name_never_overwrite(
    tmp_path: Path, data_dir: Path
) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "freida").mkdir(parents=True)
    target = mirror / FREIDA_REL
    shutil.copyfile(data_dir / FREIDA_REL, target)
    settings = get_settings(source_dir=str(mirror), raw_dir=tmp_path / "raw")

    first = land_snapshot("freida_programs", settings)
    # The upstream file changes under the same name and date (the older scrape's bytes).
    target.unlink()
    shutil.copyfile(data_dir / FREIDA_OLD_REL, target)
    second = land_snapshot("freida_programs", settings)

    assert first.as_of == second.as_of == "2025-05-26"
    assert second.local_path != first.local_path
    assert second.local_path.parent == first.local_path.parent
    assert sha256(first.local_path) == sums(data_dir)[FREIDA_REL], "first landing untouched"
    assert sha256(second.local_path) == sums(data_dir)[FREIDA_OLD_REL]
    rows = read_landings(settings)
    assert [r["sha256"] for r in rows] == [first.sha256, second.sha256]
    assert first.sha256 != second.sha256


def test_a_mirror_file_that_breaks_its_sha256sums_is_refused(
    tmp_path: Path, data_dir: Path
) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "freida").mkdir(parents=True)
    shutil.copyfile(data_dir / "SHA256SUMS", mirror / "SHA256SUMS")
    shutil.copyfile(data_dir / FREIDA_OLD_REL, mirror / FREIDA_REL)  # wrong bytes, listed name
    settings = get_settings(source_dir=str(mirror), raw_dir=tmp_path / "raw")

    with pytest.raises(LandingError, match="does not match"):
        land_snapshot("freida_programs", settings)
    assert read_landings(settings) == []
    assert not any(p.is_file() for p in settings.raw_dir.rglob("*"))


def test_a_missing_mirror_file_is_a_landing_error(tmp_path: Path) -> None:
    settings = get_settings(source_dir=str(tmp_path / "nowhere"), raw_dir=tmp_path / "raw")
    with pytest.raises(LandingError, match="not found"):
        land_snapshot("acgme_programs", settings)
    assert read_landings(settings) == []


# ---- from an HTTP server ----------------------------------------------------------------


class Mirror:
    """A local HTTP server publishing files (real bytes) by path, counting requests and
    answering 503 to the first ``fail_first[path]`` requests of a path."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.fail_first: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                path = self.path.lstrip("/")
                mirror.requests[path] += 1
                if mirror.fail_first[path] > 0:
                    mirror.fail_first[path] -= 1
                    self.send_error(503, "try again")
                    return
                body = mirror.files.get(path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"


@pytest.fixture
def mirror(data_dir: Path) -> Iterator[Mirror]:
    m = Mirror(
        {
            "SHA256SUMS": (data_dir / "SHA256SUMS").read_bytes(),
            ACGME_REL: (data_dir / ACGME_REL).read_bytes(),
            # The server publishes the older scrape's bytes under the newer name: its own
            # SHA256SUMS says otherwise.
            FREIDA_REL: (data_dir / FREIDA_OLD_REL).read_bytes(),
        }
    )
    m.thread.start()
    yield m
    m.server.shutdown()
    m.server.server_close()


def url_settings(mirror: Mirror, tmp_path: Path, **kw: object) -> Settings:
    return get_settings(
        source_dir=mirror.url, raw_dir=tmp_path / "raw", http_backoff_s=0.001, http_allow_loopback_http=True, **kw
    )


def test_url_landing_retries_after_a_503(
    mirror: Mirror, tmp_path: Path, data_dir: Path
) -> None:
    mirror.fail_first[ACGME_REL] = 1
    settings = url_settings(mirror, tmp_path)

    snap = land_snapshot("acgme_programs", settings)

    assert mirror.requests[ACGME_REL] == 2, "one 503, then the successful retry"
    assert mirror.requests["SHA256SUMS"] >= 1, "the checksum was checked against the server's"
    assert snap.location == mirror.url + ACGME_REL
    assert snap.sha256 == sums(data_dir)[ACGME_REL]
    assert snap.local_path.read_bytes() == (data_dir / ACGME_REL).read_bytes()
    assert snap.local_path == settings.raw_dir / "acgme_programs" / "2025-05-02" / Path(ACGME_REL).name
    assert [r["location"] for r in read_landings(settings)] == [mirror.url + ACGME_REL]


def test_url_landing_refuses_a_file_that_breaks_the_servers_sha256sums(
    mirror: Mirror, tmp_path: Path, data_dir: Path
) -> None:
    settings = url_settings(mirror, tmp_path)

    with pytest.raises(LandingError, match="does not match") as err:
        land_snapshot("freida_programs", settings)

    assert sums(data_dir)[FREIDA_REL] in str(err.value)
    assert mirror.requests[FREIDA_REL] == 1
    assert read_landings(settings) == []
    assert not any(p.is_file() for p in settings.raw_dir.rglob("*")), "nothing landed"


def test_a_flaky_sha256sums_is_retried_not_skipped(mirror: Mirror, tmp_path: Path) -> None:
    """A 503 on SHA256SUMS must not switch verification off: the bad file is still refused."""
    mirror.fail_first["SHA256SUMS"] = 1
    settings = url_settings(mirror, tmp_path)
    with pytest.raises(LandingError, match="does not match"):
        land_snapshot("freida_programs", settings)
    assert mirror.requests["SHA256SUMS"] == 2


def test_url_landing_gives_up_after_the_configured_attempts(
    mirror: Mirror, tmp_path: Path
) -> None:
    mirror.fail_first[ACGME_REL] = 99
    settings = url_settings(mirror, tmp_path, http_attempts=3)
    with pytest.raises(LandingError, match="503"):
        land_snapshot("acgme_programs", settings)
    assert mirror.requests[ACGME_REL] == 3
    assert read_landings(settings) == []


def test_a_404_is_not_retried(mirror: Mirror, tmp_path: Path) -> None:
    settings = url_settings(
        mirror, tmp_path, source_files={"acgme_programs": "acgme/missing_2025-05-02.pdf"}
    )
    with pytest.raises(LandingError, match="404"):
        land_snapshot("acgme_programs", settings)
    assert mirror.requests["acgme/missing_2025-05-02.pdf"] == 1


def test_a_file_other_than_the_catalogs_needs_its_date_in_its_name(tmp_path: Path, data_dir: Path) -> None:
    """Another FREIDA file (a new scrape) gets the date its name carries; with none, its
    as-of date cannot be known, and the catalog's date (of another file) is not lent to it."""
    src = tmp_path / "src" / "freida"
    src.mkdir(parents=True)
    shutil.copyfile(data_dir / FREIDA_OLD_REL, src / "new-scrape_2025-06-09.csv")
    shutil.copyfile(data_dir / FREIDA_OLD_REL, src / "new-scrape.csv")
    base = {"source_dir": str(tmp_path / "src"), "raw_dir": tmp_path / "raw"}

    dated = get_settings(**base, source_files={"freida_programs": "freida/new-scrape_2025-06-09.csv"})
    assert land_snapshot("freida_programs", dated).as_of == "2025-06-09"

    undated = get_settings(**base, source_files={"freida_programs": "freida/new-scrape.csv"})
    with pytest.raises(LandingError, match=r"cannot tell the as-of date of .*new-scrape\.csv: name the file new-scrape_YYYY-MM-DD\.csv"):
        land_snapshot("freida_programs", undated)
    assert [r["as_of"] for r in read_landings(undated)] == ["2025-06-09"]
    # The catalog's own files keep the catalog's dates (the ACGME report's name has none).
    assert land_snapshot("acgme_programs", get_settings(source_dir=str(data_dir), raw_dir=tmp_path / "raw")).as_of == "2025-05-02"
