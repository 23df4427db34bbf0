"""atlassian-python-api (the `Confluence` class) driven unmodified against `cfl sim`.

`confluence` runs each test on DC with Basic, DC with a PAT, and Cloud with `legacy_v1 = true`
(the v1 content API as Cloud had it before Atlassian removed it). `cloud` is today's Cloud: the
library's v1 content calls get 410 there, as they do against a real Cloud site.
"""

import uuid

import pytest
import requests
from requests import HTTPError


def unique(prefix):
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def a_space(confluence):
    spaces = confluence.get_all_spaces(limit=50)["results"]
    assert spaces, "the seeded sim has spaces"
    return spaces[0]["key"]


def test_spaces_list_and_expand_homepage(confluence):
    key = a_space(confluence)
    space = confluence.get_space(key, expand="description.plain,homepage")
    assert space["key"] == key
    assert space["homepage"]["type"] == "page"
    assert space["homepage"]["title"]
    assert space["description"]["plain"]["value"]
    content = confluence.get_space_content(key)
    assert content["page"]["results"], content


def test_page_lifecycle_update_append_history_ancestors(confluence):
    key = a_space(confluence)
    home = confluence.get_space(key, expand="homepage")["homepage"]
    title = unique("Py page")
    created = confluence.create_page(key, title, "<p>one</p>", parent_id=home["id"])
    pid = created["id"]
    assert confluence.page_exists(key, title)
    by_title = confluence.get_page_by_title(key, title, expand="body.storage")
    assert by_title["id"] == pid
    assert by_title["body"]["storage"]["value"] == "<p>one</p>"

    confluence.update_page(pid, title, "<p>two</p>")
    confluence.append_page(pid, title, "<p>three</p>")
    page = confluence.get_page_by_id(pid, expand="body.storage,version")
    assert page["version"]["number"] == 3
    assert page["body"]["storage"]["value"] == "<p>two</p><p>three</p>"

    history = confluence.history(pid)
    assert history["lastUpdated"]["number"] == 3
    assert history["previousVersion"]["number"] == 2
    assert history["createdBy"]["displayName"]

    ancestors = confluence.get_page_ancestors(pid)
    assert [a["id"] for a in ancestors] == [home["id"]]

    child = confluence.create_page(key, unique("Py child"), "<p>c</p>", parent_id=pid)
    kids = confluence.get_page_child_by_type(pid, type="page")
    assert [k["id"] for k in kids] == [child["id"]]
    assert [k["id"] for k in confluence.get_child_pages(pid)] == [child["id"]]

    confluence.remove_page(child["id"])
    confluence.remove_page(pid)
    assert not confluence.page_exists(key, title)


def test_move_page_on_dc(dc_sim):
    from conftest import DC_ADMIN, Confluence

    confluence = Confluence(url=dc_sim.api_base, username=DC_ADMIN[0], password=DC_ADMIN[1])
    key = a_space(confluence)
    a = confluence.create_page(key, unique("Py move a"), "<p>a</p>")["id"]
    b = confluence.create_page(key, unique("Py move b"), "<p>b</p>")["id"]
    confluence.move_page(key, b, target_id=a, position="append")
    assert confluence.get_page_ancestors(b)[-1]["id"] == a
    assert [k["id"] for k in confluence.get_child_pages(a)] == [b]
    confluence.move_page(key, b, position="topLevel")
    assert confluence.get_page_ancestors(b) == []


def test_stale_update_is_a_conflict(confluence):
    key = a_space(confluence)
    title = unique("Py stale")
    pid = confluence.create_page(key, title, "<p>x</p>")["id"]
    with pytest.raises(HTTPError) as err:
        confluence.put(
            f"rest/api/content/{pid}",
            data={"type": "page", "title": title, "version": {"number": 5},
                  "body": {"storage": {"value": "<p>y</p>", "representation": "storage"}}},
        )
    assert err.value.response.status_code == 409
    assert "Current version is: 1" in err.value.response.json()["message"]


def test_attachments_new_and_new_version(confluence, tmp_path):
    key = a_space(confluence)
    pid = confluence.create_page(key, unique("Py attach"), "<p>a</p>")["id"]
    confluence.attach_content(b"first", name="notes.txt", content_type="text/plain", page_id=pid)
    confluence.attach_content(b"second!", name="notes.txt", content_type="text/plain", page_id=pid)
    atts = confluence.get_attachments_from_content(pid)["results"]
    assert [a["title"] for a in atts] == ["notes.txt"]
    assert atts[0]["version"]["number"] == 2
    confluence.download_attachments_from_page(pid, path=str(tmp_path))
    assert (tmp_path / "notes.txt").read_bytes() == b"second!"


def test_labels(confluence):
    key = a_space(confluence)
    pid = confluence.create_page(key, unique("Py labels"), "<p>l</p>")["id"]
    confluence.set_page_label(pid, "py-client")
    names = [l["name"] for l in confluence.get_page_labels(pid)["results"]]
    assert names == ["py-client"]
    confluence.remove_page_label(pid, "py-client")
    assert confluence.get_page_labels(pid)["results"] == []


def test_comments_and_replies(confluence):
    key = a_space(confluence)
    pid = confluence.create_page(key, unique("Py comments"), "<p>c</p>")["id"]
    first = confluence.add_comment(pid, "<p>looks good</p>")
    assert first["type"] == "comment"
    comments = confluence.get_page_comments(pid, expand="body.storage", depth="all")["results"]
    assert [c["body"]["storage"]["value"] for c in comments] == ["<p>looks good</p>"]
    assert comments[0]["title"].startswith("Re: ")


def test_content_properties(confluence):
    key = a_space(confluence)
    pid = confluence.create_page(key, unique("Py props"), "<p>p</p>")["id"]
    confluence.set_page_property(pid, {"key": "review", "value": {"state": "draft"}})
    assert confluence.get_page_property(pid, "review")["value"] == {"state": "draft"}
    confluence.update_page_property(
        pid, {"key": "review", "value": {"state": "done"}, "version": {"number": 2}}
    )
    prop = confluence.get_page_property(pid, "review")
    assert prop["value"] == {"state": "done"} and prop["version"]["number"] == 2
    assert [p["key"] for p in confluence.get_page_properties(pid)["results"]] == ["review"]
    confluence.delete_page_property(pid, "review")
    assert confluence.get_page_properties(pid)["results"] == []


def test_cql_paging_reaches_every_page(confluence):
    key = a_space(confluence)
    everything = confluence.get_all_pages_from_space(key, start=0, limit=100)
    seen, start = [], 0
    while True:
        batch = confluence.cql(f"space = {key} and type = page", start=start, limit=5)
        seen += [r["content"]["id"] for r in batch["results"]]
        if len(batch["results"]) < 5:
            break
        start += 5
    assert sorted(seen) == sorted(p["id"] for p in everything)


def test_restrictions_read_views(confluence):
    key = a_space(confluence)
    pid = confluence.create_page(key, unique("Py restr"), "<p>r</p>")["id"]
    restrictions = confluence.get_all_restrictions_for_content(pid)
    assert restrictions["read"]["operation"] == "read"
    assert restrictions["read"]["restrictions"]["user"]["results"] == []


def test_users_and_groups(confluence, request):
    if "cloud" in request.node.callspec.id:
        me = confluence.get("rest/api/user/current")
        assert confluence.get_user_details_by_accountid(me["accountId"])["displayName"]
    else:
        assert confluence.get_user_details_by_username("alice")["displayName"] == "Alice Author"
        members = confluence.get_group_members("confluence-users")
        assert "alice" in [m["username"] for m in members]
    groups = [g["name"] for g in confluence.get_all_groups()]
    assert "confluence-users" in groups


def test_unknown_route_is_confluence_404_json(confluence):
    with pytest.raises(HTTPError) as err:
        confluence.get("rest/api/no-such-resource")
    body = err.value.response.json()
    assert body["statusCode"] == 404 and body["reason"] == "Not Found"


def test_server_information_on_dc(dc_sim):
    r = requests.get(f"{dc_sim.api_base}/rest/api/server-information", auth=("admin", "admin"))
    assert r.status_code == 200 and r.json()["version"].startswith("9.")


# Today's Cloud: what atlassian-python-api can still do with the v1 endpoints Atlassian kept.


def test_cloud_kept_v1_calls_work(cloud):
    me = cloud.get("rest/api/user/current")
    assert cloud.get_user_details_by_accountid(me["accountId"])["displayName"] == "Alice Author"
    results = cloud.cql("type = page", limit=5)
    assert len(results["results"]) == 5
    pid = results["results"][0]["content"]["id"]
    cloud.set_page_label(pid, "py-cloud")
    assert cloud.get_all_restrictions_for_content(pid)["read"]["operation"] == "read"
    assert "confluence-users" in [g["name"] for g in cloud.get_all_groups()]


def test_cloud_removed_v1_calls_get_410_like_real_cloud(cloud):
    with pytest.raises(HTTPError) as err:
        cloud.get_page_by_id("65537")
    assert err.value.response.status_code == 410
    assert err.value.response.json()["reason"] == "Gone"


def test_cloud_classic_token_is_refused_on_the_api_gateway(cloud_sim):
    from conftest import CLOUD_EMAIL, CLOUD_TOKEN, Confluence

    gw = Confluence(url=cloud_sim.info["gateway_base"], username=CLOUD_EMAIL,
                    password=CLOUD_TOKEN, cloud=True)
    with pytest.raises(HTTPError) as err:
        gw.get("rest/api/user/current")
    assert err.value.response.status_code == 401
