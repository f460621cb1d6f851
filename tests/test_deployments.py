"""The two scheduled ways to run the refresh: ``weekly-refresh`` (prefect.yaml, a work pool
and its worker) and ``weekly-refresh-serve`` (``python -m flows.refresh --serve``). Two names,
so one never replaces the other; one schedule, tag set, concurrency limit and environment."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

# Runs flows or reads the run's Prefect server: waits for it (conftest.prefect_server).
pytestmark = pytest.mark.usefixtures("prefect_server")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def rf():  # type: ignore[no-untyped-def]
    """``flows.refresh``, imported when a test here first runs: it imports Prefect (seconds),
    which the test run's collection need not wait for."""
    import flows.refresh as rf

    return rf


def yaml_deployment() -> dict:
    [deployment] = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    return deployment


def test_serve_and_deploy_are_two_names_with_one_schedule(rf) -> None:  # type: ignore[no-untyped-def]
    deployed = yaml_deployment()
    served = rf.serve_deployment()
    assert deployed["name"] == rf.DEPLOY_NAME and served.name == rf.SERVE_NAME
    assert rf.DEPLOY_NAME != rf.SERVE_NAME
    [schedule] = deployed["schedules"]
    [served_schedule] = served.schedules
    assert (schedule["cron"], schedule["timezone"]) == (rf.WEEKLY_CRON, rf.TIMEZONE)
    assert (served_schedule.schedule.cron, served_schedule.schedule.timezone) == (rf.WEEKLY_CRON, rf.TIMEZONE)
    assert deployed["tags"] == rf.TAGS and served.tags == rf.TAGS
    assert deployed["concurrency_limit"] == rf.CONCURRENCY_LIMIT
    assert served.concurrency_limit == rf.CONCURRENCY_LIMIT
    assert deployed["work_pool"]["job_variables"]["env"] == rf.JOB_ENV
    assert served.entrypoint.endswith("refresh.py:refresh")


def test_the_served_deployment_registers_beside_the_deployed_one(rf) -> None:  # type: ignore[no-untyped-def]
    """Both registered on the (temporary) Prefect server: two deployments of the flow, each
    with the weekly schedule; registering the served one leaves the other's pool alone."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.deployments.runner import RunnerDeployment
    from prefect.exceptions import ObjectAlreadyExists
    from prefect.schedules import Cron

    deployed = yaml_deployment()
    with get_client(sync_client=True) as client:
        try:
            client.create_work_pool(WorkPoolCreate(name=deployed["work_pool"]["name"], type="process"))
        except ObjectAlreadyExists:  # there from an earlier test run on this Prefect home
            pass
    pool_id = RunnerDeployment.from_flow(
        rf.refresh,
        name=deployed["name"],
        schedules=[Cron(s["cron"], timezone=s["timezone"]) for s in deployed["schedules"]],
        tags=deployed["tags"],
        concurrency_limit=deployed["concurrency_limit"],
        work_pool_name=deployed["work_pool"]["name"],
        job_variables=deployed["work_pool"]["job_variables"],
    ).apply()
    serve_id = rf.serve_deployment().apply()
    assert pool_id != serve_id
    with get_client(sync_client=True) as client:
        pool = client.read_deployment(pool_id)
        served = client.read_deployment(serve_id)
    assert pool.work_pool_name == deployed["work_pool"]["name"]
    assert pool.job_variables["env"] == rf.JOB_ENV
    assert served.work_pool_name is None
    for d in (pool, served):
        [s] = d.schedules
        assert (s.schedule.cron, s.schedule.timezone) == (rf.WEEKLY_CRON, rf.TIMEZONE)
        assert d.tags == rf.TAGS and d.global_concurrency_limit.limit == rf.CONCURRENCY_LIMIT
