"""Starts `cfl sim` for the client suites and hands out configured atlassian-python-api clients.

The simulator binary comes from CFL_BIN (default: target/debug/cfl of this checkout). Each sim runs
on a free loopback port (`--listen 127.0.0.1:0`); its start-up JSON line says where.
"""

import json
import os
import pathlib
import subprocess

import pytest
from atlassian import Confluence

ROOT = pathlib.Path(__file__).resolve().parents[2]
CFL_BIN = os.environ.get("CFL_BIN", str(ROOT / "target" / "debug" / "cfl"))

# The credentials below are the ones in examples/sim-dc.toml and examples/sim-cloud.toml.
DC_ADMIN = ("admin", "admin")
DC_ALICE_PAT = "NjEyMzQ1Njc4OTAxOnNpbXVsYXRvci1wYXQtYWxpY2U="
CLOUD_EMAIL = "alice@example.com"
CLOUD_TOKEN = "ATATT3xFfGF0-classic-alice"


class Sim:
    """A running `cfl sim`; `info` is its start-up line."""

    def __init__(self, config_path):
        self.proc = subprocess.Popen(
            [CFL_BIN, "sim", "--config", str(config_path), "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"cfl sim did not start: {self.proc.stderr.read()}")
        self.info = json.loads(line)
        self.api_base = self.info["api_base"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def start_sim(tmp_path_factory, example, extra=""):
    text = (ROOT / "examples" / example).read_text()
    if extra:
        # Top-level keys must come before the first [table] of the example.
        text = extra + "\n" + text
    directory = tmp_path_factory.mktemp(example.replace(".", "_"))
    # Key files in the example are relative to it: keep them resolvable.
    for key in (ROOT / "examples" / "keys").glob("*"):
        (directory / "keys").mkdir(exist_ok=True)
        (directory / "keys" / key.name).write_bytes(key.read_bytes())
    path = directory / example
    path.write_text(text)
    return Sim(path)


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
