"""Pure logic of the exactness audit, on hand-built snapshots (no server)."""

import json
import xml.etree.ElementTree as ET

from ansible_collections.pulpops.replication.plugins.module_utils.audit import Auditor, junit, table

OWNER = "/pulp/d/api/v3/upstream-pulps/0001/"


class FakeClient:
    """Answers list/get from dicts, like a PulpClient would."""

    def __init__(self, versions, lists, objects=None, base_url="http://fake"):
        self._versions = versions
        self.lists = lists
        self.objects = objects or {}
        self.base_url = base_url
        self.request_count = 0
        self.gets = []

    def versions(self):
        return self._versions

    def login(self):
        return True

    def list(self, endpoint, params=None, page_size=None):
        return iter(self.lists.get(endpoint, []))

    def list_all(self, endpoint, params=None, page_size=None):
        return list(self.lists.get(endpoint, []))

    def get(self, href, params=None):
        if params and params.get("limit") == 1:
            return {"count": len(self.lists.get(href, []))}
        self.gets.append(href)
        return self.objects[href]


def dist(name, base_path=None, label="0001", version="/v/1/"):
    labels = {"UpstreamPulp": label} if label else {}
    return {"name": name, "base_path": base_path or name, "repository_version": version, "publication": None,
            "repository": None, "pulp_labels": labels, "base_url": "http://content/%s/" % (base_path or name)}


def version(count):
    return {"content_summary": {"present": {"file.file": {"count": count}}}}


def served(dists, objects, host):
    """The index file each distribution serves: as a content app would, it follows what its version holds."""
    pages = {}
    for d in dists:
        d["base_url"] = "http://%s/%s/" % (host, d["base_path"])
        summary = (objects.get(d.get("repository_version")) or {}).get("content_summary")
        pages[d["base_url"] + "PULP_MANIFEST"] = (200, json.dumps(summary, sort_keys=True).encode())
    return pages


def auditor(up_dists, down_dists, up_objects, down_objects, up_plugins=("core", "file"), pages=None, **options):
    up = FakeClient(dict.fromkeys(up_plugins, (3, 123, 1)), {"distributions/file/file/": up_dists,
                                                             "distributions/rpm/rpm/": [dist("r1")]}, up_objects)
    down = FakeClient({"core": (3, 123, 1), "file": (3, 123, 1)}, {"distributions/file/file/": down_dists}, down_objects,
                      base_url="http://fake-down")
    served_pages = dict(served(up_dists, up_objects, "up-content"), **served(down_dists, down_objects, "content"))
    served_pages.update(pages or {})
    return Auditor(down, up, {"pulp_href": OWNER, "policy": "labeled"},
                   http_get=lambda url: served_pages.get(url, (200, b"same")), **options)


def test_exact_when_names_paths_and_content_agree():
    report = auditor([dist("a", label=None)], [dist("a")], {"/v/1/": version(2)}, {"/v/1/": version(2)}).run()
    assert report["exact"] is True
    assert report["distributions"] == 1
    assert table(report)[-1] == "1 distribution(s) checked: exact"


def test_every_kind_is_named():
    up = [dist("missing", label=None), dist("stale", label=None), dist("moved", label=None),
          dist("dangling", label=None), dist("foreign", label=None)]
    down = [dist("stale", version="/v/old/"), dist("moved", base_path="elsewhere"),
            dict(dist("dangling"), repository_version=None), dist("foreign", label="other"),
            dist("extra"), dist("handmade-extra", label=None)]
    report = auditor(up, down, {"/v/1/": version(2)}, {"/v/1/": version(2), "/v/old/": version(1)}).run()
    found = {(d["kind"], d["name"]) for d in report["differences"]}
    assert found >= {("missing", "missing"), ("stale", "stale"), ("stale", "moved"), ("dangling", "dangling"),
                     ("foreign", "foreign"), ("extra", "extra")}
    # Under policy labeled a hand-made distribution outside the upstream's names is not ours to judge.
    assert ("extra", "handmade-extra") not in found
    # stale: its PULP_MANIFEST differs, and so do its counts (two differences); moved: its base_path.
    assert report["summary"]["stale"] == 3
    assert sorted(d["name"] for d in report["differences"] if d["kind"] == "stale") == ["moved", "stale", "stale"]


def test_unserved_index_file_and_missing_plugin():
    pages = {"http://content/a/PULP_MANIFEST": (404, b"")}
    report = auditor([dist("a", label=None)], [dist("a")], {"/v/1/": version(1)}, {"/v/1/": version(1)},
                     up_plugins=("core", "file", "rpm"), pages=pages).run()
    kinds = {(d["kind"], d["type"]) for d in report["differences"]}
    assert ("unserved", "file") in kinds
    assert ("plugin", "rpm") in kinds
    assert report["missing_plugins"] == ["rpm"]


def test_junit_has_a_case_per_distribution_and_fails_the_drifted_ones():
    report = auditor([dist("a", label=None), dist("b", label=None)], [dist("a")],
                     {"/v/1/": version(1)}, {"/v/1/": version(1)}).run()
    suite = ET.fromstring(junit(report))
    names = {case.get("name"): case.find("failure") is not None for case in suite}
    assert names == {"a (a)": False, "b (b)": True}
    assert suite.get("failures") == "1"


def test_content_names_narrow_the_content_checks_but_not_the_others():
    up = [dist("changed", label=None), dist("proven", label=None), dist("gone", label=None)]
    down = [dist("changed", version="/v/old/"), dist("proven", version="/v/old/")]
    objects = {"/v/1/": version(2), "/v/old/": version(1)}
    report = auditor(up, down, {"/v/1/": version(2)}, objects, content_names=["changed"]).run()
    found = {(d["kind"], d["name"]) for d in report["differences"]}
    # Content compared for the named one only; the missing one is reported whatever the names.
    assert found == {("stale", "changed"), ("missing", "gone")}
    assert report["content_checked"] == 1 and report["distributions"] == 3
    full = auditor(up, down, {"/v/1/": version(2)}, objects).run()
    assert ("stale", "proven") in {(d["kind"], d["name"]) for d in full["differences"]}
    assert full["content_checked"] == 3


def test_each_side_s_content_is_fetched_with_that_side_s_client_and_its_trust():
    class Response:
        def __init__(self, body):
            self.status_code, self.content = 200, body

    fetched = []
    up_client = FakeClient({"core": (3, 123, 1), "file": (3, 123, 1)},
                           {"distributions/file/file/": [dict(dist("a", label=None), base_url="https://up/a/")]},
                           {"/v/1/": version(1)})
    down_client = FakeClient({"core": (3, 123, 1), "file": (3, 123, 1)},
                             {"distributions/file/file/": [dict(dist("a"), base_url="https://down/a/")]},
                             {"/v/1/": version(1)})
    up_client.fetch = lambda url: fetched.append(("upstream", url)) or Response(b"m")
    down_client.fetch = lambda url: fetched.append(("downstream", url)) or Response(b"m")
    report = Auditor(down_client, up_client, {"pulp_href": OWNER, "policy": "labeled"}).run()
    assert report["exact"] is True
    assert sorted(fetched) == [("downstream", "https://down/a/PULP_MANIFEST"), ("upstream", "https://up/a/PULP_MANIFEST")]


REPOMD = b"""<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <data type="filelists"><location href="repodata/aaa-filelists.xml.gz"/></data>
  <data type="primary"><location href="repodata/bbb-primary.xml%s"/></data>
</repomd>"""
PRIMARY = b"""<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" packages="1">
  <package type="rpm"><name>demo</name><location href="Packages/d/demo-1-1.noarch.rpm"/></package>
</metadata>"""


def test_the_first_package_of_the_served_primary_metadata_is_found_for_each_compression():
    import bz2
    import gzip
    import lzma
    from ansible_collections.pulpops.replication.plugins.module_utils.audit import first_package_location
    for suffix, compress in ((b".gz", gzip.compress), (b".xz", lzma.compress), (b".bz2", bz2.compress), (b"", bytes)):
        fetched = []

        def fetch(url, body=compress(PRIMARY)):
            fetched.append(url)
            return 200, body
        assert first_package_location("http://d/c/rpm-1/", REPOMD % suffix, fetch) == "Packages/d/demo-1-1.noarch.rpm"
        assert fetched == ["http://d/c/rpm-1/repodata/bbb-primary.xml" + suffix.decode()]


def test_zstd_primary_metadata_or_an_unreadable_repomd_gives_no_probe():
    from ansible_collections.pulpops.replication.plugins.module_utils.audit import first_package_location
    assert first_package_location("http://d/", REPOMD % b".zst", lambda url: (200, b"")) is None
    assert first_package_location("http://d/", b"not xml", lambda url: (200, b"")) is None
    assert first_package_location("http://d/", REPOMD % b".gz", lambda url: (404, b"")) is None


def test_an_index_file_served_the_same_on_both_sides_needs_no_repository_version_read():
    pages = {"http://up-content/a/PULP_MANIFEST": (200, b"m"), "http://content/a/PULP_MANIFEST": (200, b"m")}
    same = auditor([dist("a", label=None)], [dist("a")], {"/v/1/": version(2)}, {"/v/1/": version(3)}, pages=pages)
    report = same.run()
    # PULP_MANIFEST (every path and its sha256) is byte-equal: the counts are not read, nor compared.
    assert report["exact"] is True and same.up.gets == [] and same.down.gets == []

    pages = {"http://content/a/PULP_MANIFEST": (200, b"new")}
    differing = auditor([dist("a", label=None)], [dist("a")], {"/v/1/": version(2)}, {"/v/1/": version(3)},
                        pages=pages)
    report = differing.run()
    details = sorted(d["detail"] for d in report["differences"])
    assert [d["kind"] for d in report["differences"]] == ["stale", "stale"]
    assert details[0].startswith("PULP_MANIFEST differs") and details[1].startswith("content differs")
    assert differing.up.gets == ["/v/1/"] and differing.down.gets == ["/v/1/"]


def test_the_upstream_index_is_fetched_while_the_downstream_one_is():
    """Each content app serves its own side: the downstream's answer waits here until the upstream's fetch has begun."""
    import threading

    up_started = threading.Event()
    pages = {}

    def http_get(url):
        if url.startswith("http://up-content/"):
            up_started.set()
            return pages[url]
        assert up_started.wait(5), "the upstream's index was not asked for while the downstream's was"
        return pages[url]

    up_dists, down_dists = [dist("a", label=None)], [dist("a")]
    objects = {"/v/1/": version(2)}
    pages.update(served(up_dists, objects, "up-content"), **served(down_dists, objects, "content"))
    up = FakeClient({"core": (3, 123, 1), "file": (3, 123, 1)}, {"distributions/file/file/": up_dists}, objects)
    down = FakeClient({"core": (3, 123, 1), "file": (3, 123, 1)}, {"distributions/file/file/": down_dists}, objects,
                      base_url="http://fake-down")
    report = Auditor(down, up, {"pulp_href": OWNER, "policy": "labeled"}, http_get=http_get).run()
    assert report["exact"] is True and report["content_checked"] == 1


def test_a_downstream_404_is_unserved_whatever_the_upstream_answers():
    up_dists, down_dists = [dist("a", label=None)], [dist("a")]
    objects = {"/v/1/": version(2)}
    report = auditor(up_dists, down_dists, objects, objects,
                     pages={"http://content/a/PULP_MANIFEST": (404, b"")}).run()
    assert [(d["name"], d["kind"]) for d in report["differences"]] == [("a", "unserved")]
