"""What the Python client suites (python/, mcp/) share: the `cfl` binary under test, the example
configs' credentials, and starting `cfl sim` / `cfl serve` on a free loopback port.

The binary comes from CFL_BIN (default: target/debug/cfl of this checkout). Each server runs on a
free loopback port; its start-up JSON line (`info`) says where.
"""

import json
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[1]
CFL_BIN = os.environ.get("CFL_BIN", str(ROOT / "target" / "debug" / "cfl"))

# The credentials in examples/sim-dc.toml and examples/sim-cloud.toml.
DC_ADMIN = ("admin", "admin")
DC_ALICE_PAT = "NjEyMzQ1Njc4OTAxOnNpbXVsYXRvci1wYXQtYWxpY2U="
CLOUD_EMAIL = "alice@example.com"
CLOUD_TOKEN = "ATATT3xFfGF0-classic-alice"


class Server:
    """A running `cfl ARGS…` whose first stdout line is a JSON object (`info`)."""

    def __init__(self, args):
        self.proc = subprocess.Popen(
            [CFL_BIN, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"cfl {args[0]} did not start: {self.proc.stderr.read()}")
        self.info = json.loads(line)

    @property
    def api_base(self):
        return self.info["api_base"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def start_sim(tmp_path_factory, example, extra=""):
    """`cfl sim` with a copy of examples/EXAMPLE (`extra`: top-level keys put before it)."""
    text = (ROOT / "examples" / example).read_text()
    if extra:
        # Top-level keys must come before the first [table] of the example.
        text = extra + "\n" + text
    directory = tmp_path_factory.mktemp(example.replace(".", "_"))
    # Key files in the example are relative to it: keep them resolvable.
    (directory / "keys").mkdir()
    for key in (ROOT / "examples" / "keys").glob("*"):
        (directory / "keys" / key.name).write_bytes(key.read_bytes())
    path = directory / example
    path.write_text(text)
    return Server(["sim", "--config", str(path), "--listen", "127.0.0.1:0"])
