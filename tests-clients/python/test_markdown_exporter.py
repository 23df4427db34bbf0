"""confluence-markdown-exporter (`cme`) exports a space from `cfl sim`: every page of the space lands
under the configured output directory, below a directory named after the space, with its
attachments. Paths are prefixed with `pages/` so a regression (an empty space name) could never
write outside the output directory."""

import json
import os
import pathlib
import shutil
import subprocess

import pytest
import requests

from conftest import CLOUD_EMAIL, CLOUD_TOKEN, DC_ALICE_PAT

CME = shutil.which("cme")


def export(tmp_path, base_url, credentials, space_url, extra_env=None):
    assert CME, "confluence-markdown-exporter is not installed: run scripts/setup.sh"
    out = tmp_path / "out"
    config = tmp_path / "cme.json"
    config.write_text(json.dumps({
        "auth": {"confluence": {base_url: credentials}},
        "export": {
            "output_path": str(out),
            "page_path": "pages/{space_name}/{homepage_title}/{ancestor_titles}/{page_title}.md",
            "attachment_path": "pages/{space_name}/attachments/{attachment_file_id}{attachment_extension}",
        },
    }))
    env = dict(os.environ, CME_CONFIG_PATH=str(config), CI="true", NO_COLOR="1", **(extra_env or {}))
    run = subprocess.run([CME, "spaces", space_url], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    return out


def check_export(out, space_name, titles, attachments):
    files = [p for p in out.rglob("*") if p.is_file()]
    pages = {p.stem for p in files if p.suffix == ".md"}
    assert pages == set(titles)
    assert all(str(p).startswith(str(out / "pages" / space_name)) for p in files if p.suffix == ".md")
    got = sorted(p.read_bytes() for p in (out / "pages" / space_name / "attachments").iterdir())
    assert got == sorted(attachments)


def space_snapshot(api_base, auth_headers, key):
    """Titles of the space's pages and the bytes of every attachment, read over REST."""
    get = lambda path, **params: requests.get(api_base + path, headers=auth_headers, params=params)
    name = get(f"/rest/api/space/{key}").json()["name"]
    pages = get("/rest/api/content", spaceKey=key, type="page", limit=100).json()["results"]
    atts = []
    for p in pages:
        for a in get(f"/rest/api/content/{p['id']}/child/attachment").json()["results"]:
            atts.append(requests.get(api_base + a["_links"]["download"], headers=auth_headers).content)
    return name, [p["title"] for p in pages], atts


def test_exports_a_dc_space_with_a_pat(dc_sim, tmp_path):
    headers = {"Authorization": f"Bearer {DC_ALICE_PAT}"}
    name, titles, atts = space_snapshot(dc_sim.api_base, headers, "OPS")
    out = export(tmp_path, dc_sim.info["base_url"], {"pat": DC_ALICE_PAT},
                 f"{dc_sim.api_base}/display/OPS")
    check_export(out, name, titles, atts)


# On Cloud, cme treats only `*.atlassian.net` hosts as Cloud (it then adds `/wiki`); for a loopback
# address it calls `/rest/api/...` without `/wiki`. So the Cloud runs give the sim an
# `.atlassian.net` name and reach it through `HTTP_PROXY` (requests sends the absolute URL to the
# proxy, which is the sim itself): no /etc/hosts entry, no root. The name ends in a dot
# (`sim.atlassian.net.`, a valid fully qualified name): atlassian-python-api still sees
# "atlassian.net" and uses `/wiki`, while cme's own `.atlassian.net` suffix check does not match,
# so cme does not look up the cloud ID and move every call to https://api.atlassian.com (a host the
# sim can't answer for without a trusted TLS certificate). HTTPS_PROXY points nowhere, so nothing
# could leave the machine.
CLOUD_HOST = "sim.atlassian.net."


def cloud_export(tmp_path, sim, space_key):
    port = sim.info["addr"].rsplit(":", 1)[1]
    base = f"http://{CLOUD_HOST}:{port}"
    proxy = sim.info["base_url"]
    env = {"HTTP_PROXY": proxy, "http_proxy": proxy, "HTTPS_PROXY": "http://127.0.0.1:9",
           "https_proxy": "http://127.0.0.1:9", "NO_PROXY": "", "no_proxy": ""}
    return export(tmp_path, base, {"username": CLOUD_EMAIL, "api_token": CLOUD_TOKEN},
                  f"{base}/wiki/spaces/{space_key}", env)


def test_exports_a_cloud_space_as_cloud_was_before_the_v1_removal(cloud_legacy_sim, tmp_path):
    headers = {"Authorization": requests.auth._basic_auth_str(CLOUD_EMAIL, CLOUD_TOKEN)}
    name, titles, atts = space_snapshot(cloud_legacy_sim.api_base, headers, "DEV")
    out = cloud_export(tmp_path, cloud_legacy_sim, "DEV")
    check_export(out, name, titles, atts)


def test_on_todays_cloud_cme_stops_at_a_removed_v1_call(cloud_sim, tmp_path):
    """Noted, not fixed: cme 5.5.0 checks the connection with v1 `GET /wiki/rest/api/space` and
    reads spaces and pages through v1, which Atlassian removed from Cloud (410 Gone; CHANGE-864,
    CHANGE-2520; absent from the Cloud v1 OpenAPI description). Real Cloud answers it the same way,
    so the sim must not serve it; this test notices when a cme release stops calling it."""
    requests.delete(cloud_sim.info["base_url"] + "/__sim/requests")
    with pytest.raises(AssertionError, match="credentials .* are missing or invalid"):
        cloud_export(tmp_path, cloud_sim, "DEV")
    gone = requests.get(cloud_sim.info["base_url"] + "/__sim/requests", params={"status": 410}).json()
    assert [(r["method"], r["path"]) for r in gone["requests"]] == [("GET", "/wiki/rest/api/space")]
