"""README's "Test your own Confluence client against cfl sim" runs as written: its seed file, its
pytest fixture and tests, and its Node example, each in a fresh directory with `cfl` on the PATH."""

import os
import pathlib
import re
import shutil
import subprocess

from conftest import CFL_BIN, ROOT

SECTION = "### Test your own Confluence client against cfl sim"


def blocks(lang):
    """The ```lang blocks of the README section, in order."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index(SECTION):]
    section = section[:section.index("\n## ")]
    return re.findall(rf"```{lang}\n(.*?)```", section, re.S)


def project(tmp_path):
    """A directory holding the README's seed at tests/confluence-seed.toml, with the files it names."""
    seed = blocks("toml")[0]
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "confluence-seed.toml").write_text(seed)
    (tests / "diagram.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tests / "n.bin").write_text("notes\n")
    env = dict(os.environ, PATH=f"{pathlib.Path(CFL_BIN).parent}{os.pathsep}{os.environ['PATH']}")
    return env


def test_the_pytest_example_passes(tmp_path):
    env = project(tmp_path)
    code = next(b for b in blocks("python") if b.startswith("# conftest.py"))
    conftest, tests = code.split("# test_pages.py\n")
    (tmp_path / "conftest.py").write_text(conftest)
    (tmp_path / "test_pages.py").write_text(tests)
    run = subprocess.run(["python3", "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_pages.py"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 passed" in run.stdout, run.stdout


def test_the_node_example_passes(tmp_path):
    node = shutil.which("node")
    assert node, "node is not installed: run scripts/setup.sh"
    env = project(tmp_path)
    code = blocks("js")[0]
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "confluence.test.mjs").write_text(code)
    run = subprocess.run([node, "--test", "test/"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"# pass 1\b", run.stdout), run.stdout
