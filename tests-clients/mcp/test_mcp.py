"""`cfl mcp` driven by the official MCP Python SDK over stdio, against `cfl sim` (Data Center and
Cloud) and through `cfl serve --demo`'s gateway: every tool with real results, the limits of
`--read-only` and `--spaces`, errors as tool errors, and the gateway's refusal in its audit log."""

import json
import urllib.request

import pytest
from conftest import base_env, call, cloud_env, dc_env, mcp_session, run

READ_TOOLS = {
    "search", "get_page", "get_page_children", "get_space_tree", "list_spaces",
    "get_attachment", "get_labels",
}
WRITE_TOOLS = {"create_page", "update_page", "add_label", "add_comment"}


@pytest.fixture(params=["dc", "cloud"])
def env(request, tmp_path):
    if request.param == "dc":
        return dc_env(request.getfixturevalue("dc_sim"), tmp_path)
    return cloud_env(request.getfixturevalue("cloud_sim"), tmp_path)


def test_tools_are_listed_and_read_only_hides_the_write_tools(env):
    async def go():
        async with mcp_session(env) as s:
            init = s.init_result
            assert init.server_info.name == "cfl" and init.capabilities.tools is not None
            tools = {t.name: t for t in (await s.list_tools()).tools}
            assert set(tools) == READ_TOOLS | WRITE_TOOLS
            assert tools["get_page"].input_schema["required"] == ["page"]
            assert tools["get_page"].annotations.read_only_hint is True
            assert tools["create_page"].annotations.read_only_hint is False
        async with mcp_session(env, "--read-only") as s:
            assert {t.name for t in (await s.list_tools()).tools} == READ_TOOLS
            err, text = await call(s, "create_page", space="DEV", title="x", body="y")
            assert err and "--read-only" in text, text
        async with mcp_session(env, "--tools", "search,get_page") as s:
            assert {t.name for t in (await s.list_tools()).tools} == {"search", "get_page"}
            err, text = await call(s, "list_spaces")
            assert err and "--tools search,get_page" in text, text

    run(go())


def test_read_tools_return_the_sites_content(env):
    async def go():
        async with mcp_session(env) as s:
            err, spaces = await call(s, "list_spaces")
            assert not err, spaces
            keys = [sp["key"] for sp in spaces["spaces"]["items"]]
            assert {"DEV", "OPS"} <= set(keys)
            # Lists come in slices with a cursor to the next one.
            err, first = await call(s, "list_spaces", limit=1)
            assert len(first["spaces"]["items"]) == 1 and first["spaces"]["cursor"]
            err, second = await call(s, "list_spaces", limit=1, cursor=first["spaces"]["cursor"])
            assert not err, second
            assert second["spaces"]["items"][0]["key"] != first["spaces"]["items"][0]["key"]
            err, text = await call(s, "list_spaces", cursor="bogus")
            assert err and "not one this server gave" in text

            err, tree = await call(s, "get_space_tree", space="DEV", limit=100)
            assert not err, tree
            nodes = tree["nodes"]["items"]
            assert tree["total"] == len(nodes) >= 13
            home = next(n for n in nodes if n["title"] == "DEV Home")
            child = next(n for n in nodes if n["parentId"] == home["id"] and n["type"] == "page")

            err, kids = await call(s, "get_page_children", page=home["id"])
            assert not err, kids
            assert child["id"] in {k["id"] for k in kids["children"]["items"]}

            err, page = await call(s, "get_page", page=child["id"])
            assert not err, page
            assert page["title"] == child["title"] and page["spaceKey"] == "DEV"
            assert page["format"] == "markdown"
            assert "Notes about" in page["body"] and "<p>" not in page["body"]
            assert "```bash" in page["body"], page["body"]
            # The same page by SPACE:Title, in storage format.
            err, stored = await call(s, "get_page", page=f"DEV:{child['title']}", format="storage")
            assert not err, stored
            assert stored["id"] == child["id"] and "<p>Notes about" in stored["body"]
            # Long bodies come in windows that join back to the whole.
            err, w1 = await call(s, "get_page", page=child["id"], limit=10)
            assert len(w1["body"]) == 10 and w1["nextOffset"] == 10
            err, w2 = await call(s, "get_page", page=child["id"], offset=10, limit=100000)
            assert w1["body"] + w2["body"] == page["body"] and "nextOffset" not in w2

            err, found = await call(s, "search", text="Notes about", space="DEV", limit=5)
            assert not err, found
            assert 'text ~ "Notes about"' in found["cql"]
            hits = found["results"]["items"]
            assert 0 < len(hits) <= 5 and all(h["spaceKey"] == "DEV" for h in hits)
            assert found["results"]["cursor"]
            err, cql = await call(s, "search", cql="space = OPS and type = page", limit=100)
            assert not err and cql["results"]["items"]
            assert all(h["spaceKey"] == "OPS" for h in cql["results"]["items"])

            labelled = [n for n in nodes if n["type"] == "page"]
            labels = set()
            for n in labelled[:6]:
                err, got = await call(s, "get_labels", page=n["id"])
                assert not err, got
                labels |= {l["name"] for l in got["labels"]}
            assert labels & {"howto", "runbook", "architecture"}, labels

            # Page 1 of the space carries a text attachment (attachment_every = 4).
            holder = None
            for n in labelled:
                err, atts = await call(s, "get_attachment", page=n["id"])
                assert not err, atts
                texts = [a for a in atts["attachments"]["items"] if a["mediaType"] == "text/plain"]
                if texts:
                    holder, att = n, texts[0]
                    break
            assert holder, "no page with a text attachment"
            err, got = await call(s, "get_attachment", page=holder["id"], name=att["title"])
            assert not err, got
            assert got["content"].startswith(f"attachment of page {holder['id']}:"), got
            assert got["totalChars"] == len(got["content"])
            err, text = await call(s, "get_attachment", page=holder["id"], name="nope.txt")
            assert err and "no attachment named" in text

            res = await s.read_resource(f"confluence://page/{child['id']}")
            assert res.contents[0].text == page["body"]

    run(go())


def test_write_tools_convert_markdown_handle_versions_and_explain_conflicts(env):
    async def go():
        async with mcp_session(env) as s:
            err, home = await call(s, "get_page", page="DEV:DEV Home")
            assert not err, home
            err, made = await call(
                s, "create_page", space="DEV", title="Agent notes", parent=home["id"],
                body="# Agent notes\n\nHello **world**.\n\n- one\n- two\n",
            )
            assert not err, made
            assert made["title"] == "Agent notes" and made["parentId"] == home["id"]
            err, stored = await call(s, "get_page", page=made["id"], format="storage")
            assert "<strong>world</strong>" in stored["body"] and "<li>" in stored["body"]
            assert "<h1>" not in stored["body"], "the title heading is not repeated"

            err, v2 = await call(s, "update_page", page=made["id"], body="Changed *now*.",
                                 baseVersion=made["version"])
            assert not err, v2
            assert v2["version"] == made["version"] + 1
            err, read = await call(s, "get_page", page=made["id"])
            assert "Changed *now*." in read["body"] or "Changed _now_." in read["body"], read["body"]
            # An update based on the old version fails instead of overwriting.
            err, text = await call(s, "update_page", page=made["id"], body="stale",
                                   baseVersion=made["version"])
            assert err and "changed by someone else" in text and "baseVersion" in text, text

            err, labels = await call(s, "add_label", page=made["id"], labels=["agent-made"])
            assert not err, labels
            assert "agent-made" in {l["name"] for l in labels["labels"]}
            err, text = await call(s, "add_label", page=made["id"], labels=["two words"])
            assert err and "single words" in text, text

            err, comment = await call(s, "add_comment", page=made["id"], body="Looks *good*.")
            assert not err, comment
            assert comment["id"] and comment["pageId"] == made["id"]

    run(go())


def test_spaces_limit_refuses_other_spaces(env):
    async def go():
        async with mcp_session(env, "--spaces", "DEV") as s:
            err, spaces = await call(s, "list_spaces")
            assert [sp["key"] for sp in spaces["spaces"]["items"]] == ["DEV"]
            err, text = await call(s, "get_space_tree", space="OPS")
            assert err and "space OPS" in text and "--spaces DEV" in text, text
            err, text = await call(s, "get_page", page="OPS:OPS Home")
            assert err and "--spaces DEV" in text, text
            err, found = await call(s, "search", cql="type = page", limit=100)
            assert not err, found
            assert found["cql"].startswith('space in ("DEV") and (')
            assert {h["spaceKey"] for h in found["results"]["items"]} == {"DEV"}
        # A page of OPS by id is refused too (its space is looked up first).
        async with mcp_session(env) as s:
            err, ops = await call(s, "get_page", page="OPS:OPS Home")
            assert not err, ops
        async with mcp_session(env, "--spaces", "DEV") as s:
            for tool, args in [("get_page", {}), ("get_labels", {}), ("add_comment", {"body": "x"})]:
                err, text = await call(s, tool, page=ops["id"], **args)
                assert err and "space OPS" in text, (tool, text)

    run(go())


def test_a_refused_credential_is_a_tool_error_naming_it(dc_sim, tmp_path):
    env = dc_env(dc_sim, tmp_path)
    env["CONFLUENCE_PAT"] = "not-a-valid-token"

    async def go():
        async with mcp_session(env) as s:
            for _ in range(2):  # the server stays up
                err, text = await call(s, "list_spaces")
                assert err, text
                assert "HTTP 401" in text and "CONFLUENCE_* variables" in text, text
            err, text = await call(s, "get_page", page="not a ref")
            assert err and "SPACE:Title" in text, text

    run(go())


def admin(demo, method, path, body=None):
    req = urllib.request.Request(
        demo.info["gateway"] + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {demo.info['admin_token']}",
                 "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def gateway_env(demo, tmp_path, token):
    env = base_env(tmp_path)
    env.update(CONFLUENCE_URL=demo.info["gateway"], CONFLUENCE_PAT=token,
               CONFLUENCE_DEPLOYMENT="dc")
    return env


def test_through_a_gateway_token_the_gateway_refuses_and_audits(demo, tmp_path):
    # A token for svc-reports that may read the DEV space only.
    made = admin(demo, "POST", "/admin/v1/tokens", {
        "label": "mcp agent (DEV only)", "user": "svc-reports", "daysUntilExpiry": 1,
        "restrictions": [
            "[get].*/rest/api/space",
            "[get].*/rest/api/space/DEV.*",
            "[get].*/rest/api/content[QueryParam::spaceKey==DEV]",
        ],
    })
    token_id = made["token"]["id"]

    async def go():
        async with mcp_session(gateway_env(demo, tmp_path, made["secret"])) as s:
            err, tree = await call(s, "get_space_tree", space="DEV")
            assert not err, tree
            assert tree["nodes"]["items"]
            # No --spaces here: the gateway itself refuses OPS.
            err, text = await call(s, "get_space_tree", space="OPS")
            assert err and "HTTP 403" in text and "gateway refusal: restricted" in text, text
        # The demo's own token reads anything but writes nothing.
        async with mcp_session(gateway_env(demo, tmp_path, demo.info["token"])) as s:
            err, home = await call(s, "get_page", page="DEV:DEV Home")
            assert not err, home
            err, text = await call(s, "add_label", page=home["id"], labels=["x"])
            assert err and "gateway refusal: restricted" in text, text

    run(go())
    records = admin(demo, "GET", f"/admin/v1/audit?tokenId={token_id}&decision=deny")
    rows = records.get("records", records)
    assert any(r["path"].startswith("/rest/api/content") and r["reason"] == "restricted"
               for r in rows), rows
    allowed = admin(demo, "GET", f"/admin/v1/audit?tokenId={token_id}&decision=allow")
    assert allowed.get("records", allowed), "the allowed reads are audited too"


def test_streamable_http_serves_the_same_tools_on_loopback_only(dc_sim, tmp_path):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client
    from conftest import CFL_BIN
    import subprocess

    env = dc_env(dc_sim, tmp_path)
    wide = subprocess.run([CFL_BIN, "mcp", "--http", "0.0.0.0:0"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert wide.returncode != 0 and "loopback only" in wide.stderr, wide.stderr

    proc = subprocess.Popen([CFL_BIN, "mcp", "--read-only", "--http", "127.0.0.1:0"], env=env,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        line = proc.stderr.readline()
        assert "serving MCP at http://127.0.0.1:" in line, line
        url = line.split("serving MCP at ", 1)[1].strip()

        async def go():
            async with streamable_http_client(url) as streams:
                read, write = streams[0], streams[1]
                async with ClientSession(read, write) as s:
                    await s.initialize()
                    names = {t.name for t in (await s.list_tools()).tools}
                    assert "get_page" in names and "create_page" not in names
                    err, page = await call(s, "get_page", page="DEV:DEV Home")
                    assert not err and page["title"] == "DEV Home", page

        run(go())
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def login(env, profile, site, method, secret, *flags):
    from conftest import CFL_BIN
    import subprocess

    secret_flag = "--password-stdin" if method == "basic" else "--token-stdin"
    done = subprocess.run(
        [CFL_BIN, "auth", "login", "--profile", profile, "--site", site, "--method", method,
         secret_flag, "--insecure-storage", "--deployment", "dc", *flags],
        env=env, input=secret + "\n", capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_profiles_sign_in_with_their_method_including_a_gateway_token(dc_sim, demo, tmp_path):
    env = base_env(tmp_path)
    login(env, "work", dc_sim.info["base_url"], "basic", "admin", "--username", "admin")
    login(env, "agent", demo.info["gateway"], "pat", demo.info["token"])

    async def go():
        async with mcp_session(env, "--profile", "work") as s:
            err, made = await call(s, "create_page", space="OPS", title="By admin", body="x")
            assert not err, made
        async with mcp_session(env, "--profile", "agent") as s:
            err, tree = await call(s, "get_space_tree", space="OPS")
            assert not err and tree["nodes"]["items"], tree
            err, text = await call(s, "create_page", space="OPS", title="By agent", body="x")
            assert err and "gateway refusal: restricted" in text, text
            assert 'profile "agent"' in text, text

    run(go())
