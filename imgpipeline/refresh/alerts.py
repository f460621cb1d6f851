"""Failure alerts: a refresh that fails or crashes posts to a webhook (Prefect's Custom
Webhook notification block), so a failed scheduled run tells someone.

The URL comes from the settings (``IMGPIPELINE_ALERT_WEBHOOK_URL``); without one nothing is
sent. The flow's ``on_failure`` and ``on_crashed`` hooks call ``alert_on_failure``; Prefect
logs, and does not raise, an error a hook raises, so a webhook that is down never hides the
refresh's own failure.
"""

from __future__ import annotations

import logging
from typing import Any

from imgpipeline.settings import Settings, get_settings

log = logging.getLogger(__name__)

# The fields of the JSON body posted; {{ subject }} and {{ body }} are filled by the block.
PAYLOAD = {
    "source": "imgpipeline",
    "subject": "{{ subject }}",
    "text": "{{ body }}",
}
# Flow parameters that locate the outputs (so the alert can name the version still current).
_SETTINGS_PARAMS = ("source_dir", "raw_dir", "processed_dir")


def webhook_block(url: str) -> Any:
    """Prefect's Custom Webhook notification block posting ``PAYLOAD`` to ``url``."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    return CustomWebhookNotificationBlock(
        name="imgpipeline-refresh-alert", url=url, method="POST", json_data=dict(PAYLOAD)
    )


def failure_message(flow_name: str, run_name: str, state: Any, settings: Settings) -> tuple[str, str]:
    """(subject, body) of the alert: which run, which state, why, and what is current."""
    from imgpipeline.store import current_version

    subject = f"imgpipeline: flow run {run_name} of {flow_name} is {state.name}"
    why = (state.message or "").strip() or "(no message)"
    current = current_version(settings)
    where = (
        f"Nothing was published; the last good version is still current: {current}"
        if current is not None
        else f"Nothing was published; nothing is published yet under {settings.processed_dir}"
    )
    return subject, f"{subject}.\n{why}\n{where}"


def alert_on_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """Flow hook (``on_failure`` / ``on_crashed``): post the alert, if a webhook is set."""
    params = {k: v for k, v in (flow_run.parameters or {}).items() if k in _SETTINGS_PARAMS}
    settings = get_settings(**params)
    if not settings.alert_webhook_url:
        log.info("flow run %s is %s; no alert webhook set (IMGPIPELINE_ALERT_WEBHOOK_URL)", flow_run.name, state.name)
        return
    subject, body = failure_message(flow.name, flow_run.name, state, settings)
    block = webhook_block(settings.alert_webhook_url)
    with block.raise_on_failure():
        block.notify(body, subject, _sync=True)
    log.info("alert posted for flow run %s (%s)", flow_run.name, state.name)
