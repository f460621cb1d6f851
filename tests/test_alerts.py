"""Failure alerts: a refresh that fails posts to the webhook named in the settings. The
webhook is a real HTTP server on 127.0.0.1 run by the test; the refresh is the real flow."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from imgpipeline.settings import get_settings

# Runs flows or reads the run's Prefect server: waits for it (conftest.prefect_server).
pytestmark = pytest.mark.usefixtures("prefect_server")


class Receiver(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        length = int(self.headers.get("Content-Length", 0))
        self.received.append(
            {"path": self.path, "headers": dict(self.headers), "body": self.rfile.read(length)}
        )
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:  # keep the test output quiet
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict]]]:
    handler = type("Handler", (Receiver,), {"received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/refresh", handler.received
    finally:
        server.shutdown()
        server.server_close()


def test_a_failed_refresh_posts_an_alert(
    receiver: tuple[str, list[dict]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.refresh import refresh

    url, received = receiver
    monkeypatch.setenv("IMGPIPELINE_ALERT_WEBHOOK_URL", url)
    empty = tmp_path / "no-snapshots"
    empty.mkdir()
    with pytest.raises(Exception) as failed:
        refresh(
            source_dir=str(empty),
            raw_dir=str(tmp_path / "raw"),
            processed_dir=str(tmp_path / "processed"),
        )
    assert len(received) == 1, received
    request = received[0]
    assert request["path"] == "/hooks/refresh"
    assert request["headers"]["Content-Type"] == "application/json"
    payload = json.loads(request["body"])
    assert payload["source"] == "imgpipeline"
    assert payload["subject"].startswith("imgpipeline: flow run ")
    assert payload["subject"].endswith(" of refresh is Failed")
    text = payload["text"]
    # Why it failed (the flow's own error), and that nothing changed for readers.
    assert str(failed.value).splitlines()[0][:60] in text
    assert f"nothing is published yet under {tmp_path / 'processed'}" in text


def test_without_a_webhook_a_failed_refresh_posts_nothing(
    receiver: tuple[str, list[dict]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.refresh import refresh

    _, received = receiver
    monkeypatch.delenv("IMGPIPELINE_ALERT_WEBHOOK_URL", raising=False)
    assert get_settings().alert_webhook_url is None
    with pytest.raises(Exception, match="no-snapshots"):
        refresh(source_dir=str(tmp_path / "no-snapshots"), raw_dir=str(tmp_path / "raw"), processed_dir=str(tmp_path / "p"))
    assert received == []


def test_the_alert_names_the_version_still_current(tmp_path: Path) -> None:
    from prefect.states import Crashed

    from imgpipeline.refresh.alerts import failure_message
    from imgpipeline.store import switch_current

    settings = get_settings(processed_dir=tmp_path)
    version = settings.versions_dir / "20260101T000000000000Z"
    version.mkdir(parents=True)
    switch_current(version, settings)
    state = Crashed(message="Execution was cancelled by the runtime environment.")
    subject, body = failure_message("refresh", "brave-otter", state, settings)
    assert subject == "imgpipeline: flow run brave-otter of refresh is Crashed"
    assert "cancelled by the runtime environment" in body
    assert body.endswith(f"the last good version is still current: {version}")
