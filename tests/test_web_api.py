"""The JSON API of the web app (issue 14), over HTTP with httpx against the real app served by
uvicorn on 127.0.0.1 (``web_server``) over a real published version. No mocks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import httpx
import pandas as pd
import pytest
import yaml

from imgpipeline.settings import Settings

SETTINGS = Settings()  # the rules every call here is given

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"


def example(name: str) -> dict:
    return yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())


@pytest.fixture(scope="module")
def client(web_server: str):
    with httpx.Client(base_url=web_server, timeout=120) as c:
        yield c


@pytest.mark.parametrize("name", ["moderately_low_j1", "very_high_h1b"])
def test_recommend_is_the_object_the_cli_writes(client: httpx.Client, published, name: str):
    from imgpipeline.advice.profile import parse_profile
    from imgpipeline.advice.recommend import recommend

    r = client.post("/api/recommend", json=example(name))
    assert r.status_code == 200, r.text
    assert r.headers.get("content-encoding") == "gzip"   # httpx accepts gzip: the ~300 KB answer is compressed
    plain = client.post("/api/recommend", json=example(name), headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == r.content   # once, by its advice process
    got = r.json()
    want = json.loads(json.dumps(recommend(parse_profile(example(name), settings=SETTINGS), published).to_json(), default=str))
    assert got["risk_tier"] == want["risk_tier"]
    assert [p["acgme_id"] for p in got["list"]] == [p["acgme_id"] for p in want["list"]]
    assert got == want


def test_the_route_answers_as_the_fast_path(published):
    """``api_recommend`` (what the OpenAPI document describes; the app answers the path by
    ``RecommendPath`` ahead of it) gives the same answers when called as FastAPI calls it."""
    import asyncio

    from starlette.requests import Request

    from imgpipeline.web.api import api_recommend
    from imgpipeline.web.state import WebState

    web = WebState(published.model_copy(update={"web_advice_processes": 0}), has_swagger=False)
    body = json.dumps(example("very_high_h1b")).encode()

    async def post(raw: bytes, encoding: bytes):
        sent = [{"type": "http.request", "body": raw, "more_body": False}]
        scope = {"type": "http", "method": "POST", "path": "/api/recommend", "headers": [(b"accept-encoding", encoding)]}
        return await api_recommend(Request(scope, lambda: asyncio.sleep(0, sent.pop())), web)

    async def both():
        return await post(body, b"identity"), await post(body, b"gzip, deflate"), await post(b"{", b"identity")

    plain, gz, bad = asyncio.run(both())
    want = recommend_json(published, example("very_high_h1b"))
    assert plain.status_code == 200 and plain.body == want
    assert gz.headers["content-encoding"] == "gzip" and zlib.decompress(gz.body, wbits=31) == want
    assert bad.status_code == 422 and json.loads(bad.body)["detail"][0]["field"] == "body"


def recommend_json(settings, body: dict) -> bytes:
    from imgpipeline.advice.profile import parse_profile
    from imgpipeline.advice.published import load_published, resolve_version
    from imgpipeline.advice.recommend import recommend

    return recommend(parse_profile(body, settings=settings), load_published(resolve_version(settings)), settings=settings).json_bytes()


def test_bad_values_are_422_naming_the_field(client: httpx.Client):
    bad = example("moderately_low_j1")
    bad["step2ck"]["score"] = 350
    bad["favourite_colour"] = "blue"
    r = client.post("/api/recommend", json=bad)
    assert r.status_code == 422
    fields = {d["field"]: d["message"] for d in r.json()["detail"]}
    assert "between 1 and 300" in fields["step2ck.score"]
    assert fields["favourite_colour"] == "not a profile field"

    r = client.post("/api/recommend", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body"
    r = client.post("/api/recommend", json=[1, 2])
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "profile"
    r = client.post("/api/recommend", json={})
    assert r.status_code == 422
    assert ("graduation_year", "is required") in {(d["field"], d["message"]) for d in r.json()["detail"]}
    for resp in (r, client.get("/api/programs/1400000000"), client.get("/api/programs/abc")):
        assert "Traceback" not in resp.text and "File \"" not in resp.text


def test_request_body_over_the_cap_is_refused(client: httpx.Client):
    profile = example("moderately_low_j1")
    profile["padding"] = "x" * 100_000
    r = client.post("/api/recommend", json=profile)
    assert r.status_code == 413
    assert r.json()["detail"][0]["field"] == "body"

    def chunks():  # no Content-Length: counted as it streams in
        for _ in range(20):
            yield b" " * 8192

    r = client.post("/api/recommend", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_programs_list_filters_and_one_program(client: httpx.Client, published):
    folder = published.current_dir.resolve()
    features = pd.read_parquet(folder / "program_features.parquet")
    evidence = pd.read_parquet(folder / "feature_evidence.parquet")

    r = client.get("/api/programs")
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == len(features) == len(body["programs"])
    assert body["published_version"] == folder.name
    ny = client.get("/api/programs", params={"state": "ny"}).json()
    assert ny["count"] == int((features["state"] == "NY").sum()) > 0
    assert {p["state"] for p in ny["programs"]} == {"NY"}
    community_west = client.get("/api/programs", params={"region": "west", "tier": "community"}).json()["programs"]
    assert community_west and all(p["census_region"] == "West" and p["tier"] == "community" for p in community_west)
    r = client.get("/api/programs", params={"tier": "elite"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "tier"

    # A program stating a policy in its own words: the API gives its basis, quote and snapshot.
    row = evidence[(evidence["feature"] == "usce_policy") & (evidence["basis"] == "stated")].iloc[0]
    got = client.get(f"/api/programs/{row['acgme_id']}").json()
    feat = {f["feature"]: f for f in got["features"]}["usce_policy"]
    assert (feat["value"], feat["basis"], feat["evidence"], feat["snapshot"], feat["as_of"]) == (
        row["value"], row["basis"], row["evidence"], list(row["snapshot"]), list(row["as_of"]))
    # One snapshot id per source, each with its as-of date in the same place of as_of.
    assert feat["snapshot"] and len(feat["snapshot"]) == len(feat["as_of"])
    assert all(s.split("@")[1].startswith(d) for s, d in zip(feat["snapshot"], feat["as_of"], strict=True))
    assert feat["snapshot"][0].startswith("freida_programs@")
    assert got["program_name"] == features.set_index("acgme_id").loc[row["acgme_id"], "program_name"]

    assert client.get("/api/programs/1409999999").status_code == 404
    r = client.get("/api/programs/12345")
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "acgme_id"


def test_version_names_the_current_version_and_its_snapshots(client: httpx.Client, published):
    folder = published.current_dir.resolve()
    snaps = pd.read_parquet(folder / "snapshots.parquet")
    body = client.get("/api/version").json()
    assert body["version"] == folder.name
    assert {s["sha256"] for s in body["sources"]} == set(snaps["sha256"])


def test_openapi_and_docs_are_served_locally(client: httpx.Client):
    doc = client.get("/openapi.json").json()
    assert {"/api/recommend", "/api/programs", "/api/programs/{acgme_id}", "/api/version"} <= set(doc["paths"])
    schema = doc["paths"]["/api/recommend"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "graduation_year" in schema["properties"] and "graduation_year" in schema["required"]
    ref = schema["properties"]["step2ck"]["anyOf"][0]["$ref"]
    assert ref.split("/")[-1] in doc["components"]["schemas"]
    html = client.get("/docs").text
    assert "cdn" not in html.lower() and "https://" not in html
    assert client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200
    assert client.get("/static/app.css").status_code == 200


def test_a_switch_of_current_is_picked_up(published, tmp_path: Path):
    """Two real versions: the app answers with the one ``current`` points to at each request."""
    from imgpipeline.settings import get_settings
    from tests.served import serve_app

    versions = sorted(p for p in published.versions_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert len(versions) >= 2
    settings = get_settings(processed_dir=tmp_path)
    (tmp_path / "current").symlink_to(versions[0])
    with serve_app(settings) as base, httpx.Client(base_url=base, timeout=120) as c:
        assert c.get("/api/version").json()["version"] == versions[0].name
        first = c.post("/api/recommend", json=example("very_high_h1b")).json()["published_version"]
        (tmp_path / "current").unlink()
        (tmp_path / "current").symlink_to(versions[1])
        assert c.get("/api/version").json()["version"] == versions[1].name
        second = c.post("/api/recommend", json=example("very_high_h1b")).json()["published_version"]
    assert (first, second) == (versions[0].name, versions[1].name)


def test_nothing_published_is_a_503_naming_it(tmp_path: Path):
    from imgpipeline.settings import get_settings
    from tests.served import serve_app

    with serve_app(get_settings(processed_dir=tmp_path)) as base, httpx.Client(base_url=base, timeout=120) as c:
        r = c.get("/api/version")
        assert r.status_code == 503 and "nothing published" in r.json()["detail"][0]["message"]
        r = c.post("/api/recommend", json=example("moderately_low_j1"))   # answered ahead of FastAPI's stack: the same handler
        assert r.status_code == 503 and r.json()["detail"][0]["field"] == "version"
        assert c.get("/").status_code == 200          # the form still shows


def test_the_app_path_imports_no_prefect_gx_or_sklearn(published):
    """Serving a recommendation imports neither Prefect, Great Expectations nor scikit-learn."""
    code = textwrap.dedent(f"""
        import json, sys
        import httpx
        from imgpipeline.settings import get_settings
        from tests.served import serve_app
        with serve_app(get_settings(processed_dir={str(published.processed_dir)!r})) as base, httpx.Client(base_url=base, timeout=120) as c:
            profile = json.loads({json.dumps(json.dumps(example("moderately_low_j1")))})
            assert c.post("/api/recommend", json=profile).status_code == 200
            q = "graduation_year=2024&step2ck.score=223"
            assert c.get("/recommend?" + q).status_code == 200
            assert c.get("/programs/" + c.get("/api/programs").json()["programs"][0]["acgme_id"]).status_code == 200
            assert c.get("/sources").status_code == 200
        print(json.dumps(sorted(m for m in ("prefect", "great_expectations", "sklearn") if m in sys.modules)))
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_imgpipeline_serve_serves_the_given_processed_folder(published):
    """The command itself: `imgpipeline serve --processed-dir ... --port ...` answers on 127.0.0.1."""
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).parent / "imgpipeline"
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port), "--processed-dir", str(published.processed_dir)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/version", timeout=120)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "imgpipeline serve did not answer within 180 s"
                time.sleep(0.5)
        assert r.status_code == 200
        assert r.json()["version"] == published.current_dir.resolve().name
    finally:
        proc.terminate()
        proc.wait(30)


def test_served_connections_get_tcp_nodelay_on_a_socket_uvicorn_binds_itself():
    """``uvicorn --workers`` binds the socket itself (``socket.socket(family)``: proto 0), and
    asyncio sets TCP_NODELAY only on proto-6 sockets: every response then waited for a delayed
    ACK (>= 40 ms). The protocol ``imgpipeline serve`` and the bench use sets it itself."""
    import asyncio
    import socket

    import uvicorn

    from imgpipeline.web.server import HTTP_PROTOCOL, LOOP, NoDelayHttpTools, set_nodelay

    seen: dict[str, object] = {}

    class Probe(asyncio.Protocol):
        def connection_made(self, transport):  # type: ignore[override]
            sock = transport.get_extra_info("socket")
            seen["set"] = set_nodelay(transport)
            seen["nodelay"] = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            transport.close()

    async def main() -> None:
        listener = socket.socket(socket.AF_INET)        # as uvicorn binds it for --workers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        assert listener.proto == 0
        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        reader, writer = await asyncio.open_connection(*listener.getsockname())
        await asyncio.wait_for(reader.read(), 10)       # until the probe closes it
        writer.close()
        server.close()
        await server.wait_closed()

    asyncio.run(main())
    assert seen == {"set": True, "nodelay": 1}

    async def app(scope, receive, send):  # pragma: no cover - never called
        pass

    config = uvicorn.Config(app, http=HTTP_PROTOCOL, loop=LOOP)
    config.load()
    assert config.http_protocol_class is NoDelayHttpTools
    assert config.get_loop_factory() is not None and config.get_loop_factory().__module__.startswith("uvloop")
