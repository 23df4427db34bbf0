"""Runs `cfl sim` (DC and Cloud) and `cfl serve --demo`, and opens MCP sessions to `cfl mcp`
with the official MCP Python SDK over stdio.

The binary comes from CFL_BIN (default: target/debug/cfl of this checkout). Each server runs on a
free loopback port; its start-up JSON line says where.
"""

import asyncio
import contextlib
import json
import os
import pathlib
import sys

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from cfl_servers import (  # noqa: E402  (shared with the atlassian-python-api suite)
    CFL_BIN,
    CLOUD_EMAIL,
    CLOUD_TOKEN,
    DC_ALICE_PAT,
    Server,
    start_sim,
)

__all__ = ["CFL_BIN"]


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
def demo():
    """`cfl serve --demo`: a gateway in front of a DC sim, an admin token and a GET-only token."""
    gw = Server(["serve", "--demo", "--listen", "127.0.0.1:0"])
    yield gw
    gw.stop()


def base_env(tmp_path):
    """No profile of the person running the tests: an empty config directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONFLUENCE_", "CFL_"))}
    env["HOME"] = str(tmp_path)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["CFL_CONFIG_DIR"] = str(tmp_path / "config" / "cfl")
    return env


def dc_env(sim, tmp_path):
    env = base_env(tmp_path)
    env.update(CONFLUENCE_URL=sim.info["base_url"], CONFLUENCE_PAT=DC_ALICE_PAT)
    return env


def cloud_env(sim, tmp_path):
    env = base_env(tmp_path)
    env.update(
        CONFLUENCE_URL=sim.info["base_url"],
        CONFLUENCE_EMAIL=CLOUD_EMAIL,
        CONFLUENCE_API_TOKEN=CLOUD_TOKEN,
    )
    return env


@contextlib.asynccontextmanager
async def mcp_session(env, *flags):
    """An initialized MCP session with `cfl mcp FLAGS…` over stdio."""
    params = StdioServerParameters(command=CFL_BIN, args=["mcp", *flags], env=env)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            session.init_result = await session.initialize()
            yield session


def run(coro):
    return asyncio.run(coro)


async def call(session, tool, **args):
    """(is_error, parsed JSON or the error text) of one tool call."""
    result = await session.call_tool(tool, args)
    text = "".join(c.text for c in result.content if getattr(c, "type", "") == "text")
    if result.is_error:
        return True, text
    return False, json.loads(text)
