"""Starts `cfl sim` for the client suites and hands out configured atlassian-python-api clients.

The simulator binary comes from CFL_BIN (default: target/debug/cfl of this checkout). Each sim runs
on a free loopback port (`--listen 127.0.0.1:0`); its start-up JSON line says where.
"""

import pathlib
import sys

import pytest
from atlassian import Confluence

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from cfl_servers import (  # noqa: E402  (shared with the MCP suite)
    CFL_BIN,
    CLOUD_EMAIL,
    CLOUD_TOKEN,
    DC_ADMIN,
    DC_ALICE_PAT,
    ROOT,
    start_sim,
)

__all__ = ["CFL_BIN", "CLOUD_EMAIL", "CLOUD_TOKEN", "DC_ADMIN", "DC_ALICE_PAT", "ROOT", "Confluence"]


@pytest.fixture(scope="session")
def dc_sim(tmp_path_factory):
    sim = start_sim(tmp_path_factory, "sim-dc.toml")
    yield sim
    sim.stop()


@pytest.fixture(scope="session")
def cloud_sim(tmp_path_factory):
    sim = start_sim(tmp_path_factory, "sim-cloud.toml")
    yield sim
    sim.stop()


@pytest.fixture(scope="session")
def cloud_legacy_sim(tmp_path_factory):
    """Cloud as it was before Atlassian removed most of v1 (`legacy_v1 = true`)."""
    sim = start_sim(tmp_path_factory, "sim-cloud.toml", "legacy_v1 = true")
    yield sim
    sim.stop()


def cloud_client(sim):
    return Confluence(url=sim.api_base, username=CLOUD_EMAIL, password=CLOUD_TOKEN, cloud=True)


@pytest.fixture(params=["dc-basic", "dc-pat", "cloud-legacy-v1"])
def confluence(request):
    """A client on every deployment that still has the full v1 content API."""
    if request.param == "dc-basic":
        sim = request.getfixturevalue("dc_sim")
        return Confluence(url=sim.api_base, username=DC_ADMIN[0], password=DC_ADMIN[1])
    if request.param == "dc-pat":
        sim = request.getfixturevalue("dc_sim")
        return Confluence(url=sim.api_base, token=DC_ALICE_PAT)
    return cloud_client(request.getfixturevalue("cloud_legacy_sim"))


@pytest.fixture
def cloud(cloud_sim):
    """A client on today's Cloud, where most v1 content endpoints answer 410."""
    return cloud_client(cloud_sim)
