# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The exactness audit: does a downstream domain serve exactly what its upstream serves?

A completed task group is not proof. The audit compares, in the UpstreamPulp's scope, the set
of distributions (name, base_path) and, for each, the content both sides serve: the content
summary of the repository version and, where the plugin serves one, its index file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bz2
import concurrent.futures
import gzip
import json
import lzma
import time
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from ansible_collections.pulpops.replication.plugins.module_utils.client import PulpError, PulpNotFound
from ansible_collections.pulpops.replication.plugins.module_utils.pulp_types import (
    distribution_endpoint,
    index_file,
    replicated_plugins,
)
from ansible_collections.pulpops.replication.plugins.module_utils.snapshot import (
    DEFAULT_LABEL_KEY,
    href_pk,
    label_key_of,
    serves_something,
)

# The kinds of difference the audit reports (and 'plugin': a type the downstream cannot replicate).
DIFFERENCE_KINDS = ("missing", "extra", "stale", "unserved", "dangling", "foreign")


def in_scope(distribution, upstream_pulp, label_key):
    """Whether a downstream distribution belongs to this UpstreamPulp's scope of deletion."""
    if upstream_pulp.get("policy") == "all":
        return True
    return (distribution.get("pulp_labels") or {}).get(label_key) == href_pk(upstream_pulp["pulp_href"])


class Auditor(object):
    """Compare one downstream domain with its upstream; read-only."""

    def __init__(self, downstream, upstream, upstream_pulp, q_select=None, check_content=True, parallel=8,
                 http_get=None, content_names=None, skipped_names=()):
        self.down = downstream
        self.up = upstream
        self.upstream_pulp = upstream_pulp
        self.owner = href_pk(upstream_pulp["pulp_href"])
        self.label_key = DEFAULT_LABEL_KEY  # run() reads it from the downstream's labels
        self.q_select = q_select if q_select is not None else upstream_pulp.get("q_select")
        self.check_content = check_content
        # None: compare the content of every distribution; else only of these names.
        self.content_names = None if content_names is None else frozenset(content_names)
        # Left out on purpose by the replication (on_foreign=skip): reported as skipped, not compared.
        self.skipped_names = frozenset(skipped_names or ())
        self.parallel = max(1, int(parallel))
        self._http_get = http_get
        self._versions = {}
        self._side = None  # run(): the upstream's index fetches, beside the downstream's

    # ------------------------------------------------------------ reading
    def types(self):
        """(types both servers serve, types the upstream serves and the downstream lacks)."""
        up = set(self.up.versions())
        down = set(self.down.versions())
        common = sorted(t for t in replicated_plugins() if t in up and t in down)
        lacking = sorted(t for t in replicated_plugins() if t in up and t not in down)
        return common, lacking

    def read(self, plugin):
        """(upstream distributions in scope that serve something, every downstream one): both at once."""
        params = {"q": self.q_select} if self.q_select else None
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            upstream = pool.submit(lambda: [d for d in self.up.list(distribution_endpoint(plugin), params=params,
                                                                    page_size=1000) if serves_something(d)])
            downstream = self.down.list_all(distribution_endpoint(plugin), page_size=1000)
            return upstream.result(), downstream

    def version_of(self, client, distribution):
        """The repository version href a distribution serves, or None."""
        if distribution.get("repository_version"):
            return distribution["repository_version"]
        if distribution.get("publication"):
            return self._cached(client, distribution["publication"]).get("repository_version")
        if distribution.get("repository"):
            return self._cached(client, distribution["repository"]).get("latest_version_href")
        return None

    def _cached(self, client, href):
        key = (client.base_url, href)
        if key not in self._versions:
            self._versions[key] = client.get(href)
        return self._versions[key]

    def summary(self, client, version_href):
        if not version_href:
            return None
        present = (self._cached(client, version_href).get("content_summary") or {}).get("present") or {}
        return dict((kind, value.get("count")) for kind, value in present.items())

    def fetch(self, url, client=None):
        """GET a content URL without credentials (the content app serves anonymously), with the TLS trust of
        ``client``: the downstream's for its content, the upstream's for the upstream's."""
        if self._http_get is not None:
            return self._http_get(url)
        response = (client or self.down).fetch(url)
        return response.status_code, response.content

    # ------------------------------------------------------------ comparing
    def compare_one(self, plugin, up, down):
        """Differences for one upstream distribution and its downstream namesake (or None)."""
        base = {"name": up["name"], "base_path": up["base_path"], "type": plugin}
        if down is None:
            return [dict(base, kind="missing", detail="no distribution of that name downstream")]
        found = []
        owner = (down.get("pulp_labels") or {}).get(self.label_key)
        if owner != self.owner:
            found.append(dict(base, kind="foreign", detail="owned by UpstreamPulp %s" % owner if owner else "hand-made (no UpstreamPulp label)"))
        if down.get("base_path") != up["base_path"]:
            found.append(dict(base, kind="stale", detail="served at base_path %r, upstream at %r" % (down.get("base_path"), up["base_path"])))
        if not serves_something(down):
            found.append(dict(base, kind="dangling", detail="the distribution serves no repository, version or publication"))
            return found
        if not self.content_checked(up["name"]):
            return found
        served, same_index = self.compare_served(plugin, up, down, base)
        if not same_index:
            # No index file proved the served content equal: compare what each repository version holds.
            up_summary = self.summary(self.up, self.version_of(self.up, up))
            down_summary = self.summary(self.down, self.version_of(self.down, down))
            if up_summary != down_summary:
                found.append(dict(base, kind="stale", detail="content differs: upstream %s, downstream %s" % (
                    json.dumps(up_summary, sort_keys=True), json.dumps(down_summary, sort_keys=True))))
        return found + served

    def compare_served(self, plugin, up, down, base):
        """(differences, same_index): what the content apps serve. ``same_index`` when both serve the type's
        index file (PULP_MANIFEST: every path with its sha256; repomd.xml: the checksum of every metadata
        file) byte for byte the same: then the served content is the same, and no repository version needs
        reading."""
        found = []
        index = index_file(plugin)
        down_url = down.get("base_url") or ""
        if index and down_url:
            # Each content app serves its own side: the upstream's index is fetched while the downstream's is.
            up_url = up["base_url"].rstrip("/") + "/" + index if up.get("base_url") else None
            up_answer = self._side.submit(self.fetch, up_url, self.up) if up_url and self._side else None
            status, body = self.fetch(down_url.rstrip("/") + "/" + index)
            if status == 404:
                found.append(dict(base, kind="unserved", detail="%s answers 404" % (down_url.rstrip("/") + "/" + index)))
            elif status == 200 and up_url:
                up_status, up_body = up_answer.result() if up_answer else self.fetch(up_url, self.up)
                if up_status == 200 and up_body != body:
                    found.append(dict(base, kind="stale", detail="%s differs from the upstream's" % index))
                elif up_status == 200:
                    if plugin == "rpm":
                        found.extend(self.probe_package(base, down_url.rstrip("/") + "/", body))
                    return found, True
            elif status >= 400:
                found.append(dict(base, kind="unserved", detail="%s answers %s" % (down_url, status)))
        elif down_url:
            status = self.fetch(down_url)[0]
            if status == 404:
                found.append(dict(base, kind="unserved", detail="%s answers 404" % down_url))
        return found, False

    def probe_package(self, base, url, repomd):
        """rpm: fetch one package that the served metadata lists (primary.xml) from the downstream content app."""
        location = first_package_location(url, repomd, self.fetch)
        if location is None:
            return []
        status = self.fetch(url + location)[0]
        if status != 200:
            return [dict(base, kind="unserved", detail="package %s%s, listed in the served metadata, answers %s"
                         % (url, location, status))]
        return []

    def run(self):
        started = time.time()
        self.down.login()
        self.up.login()
        common, lacking = self.types()
        differences = []
        checked = []
        skipped = []
        jobs = []
        listed = [(plugin,) + self.read(plugin) for plugin in common]
        self.label_key = label_key_of((d.get("pulp_labels") for _p, _u, down in listed for d in down), self.owner)
        for plugin, upstream, downstream in listed:
            by_name = dict((d["name"], d) for d in downstream)
            wanted = set(d["name"] for d in upstream)
            for up in upstream:
                if up["name"] in self.skipped_names:
                    skipped.append({"name": up["name"], "base_path": up["base_path"], "type": plugin,
                                    "detail": "left out on purpose by the replication (on_foreign=skip)"})
                    continue
                jobs.append((plugin, up, by_name.get(up["name"])))
            for down in downstream:
                if down["name"] not in wanted and in_scope(down, self.upstream_pulp, self.label_key) \
                        and not self._outside_request_scope():
                    differences.append({"name": down["name"], "base_path": down.get("base_path"), "type": plugin,
                                        "kind": "extra", "detail": "not served by the upstream (in this UpstreamPulp's scope)"})
        with concurrent.futures.ThreadPoolExecutor(self.parallel) as pool, \
                concurrent.futures.ThreadPoolExecutor(self.parallel) as self._side:
            for job, found in zip(jobs, pool.map(lambda j: self._guarded(*j), jobs)):
                checked.append({"name": job[1]["name"], "base_path": job[1]["base_path"], "type": job[0],
                                "differences": found})
                differences.extend(found)
        self._side = None
        for plugin in lacking:
            count = self.up.get(distribution_endpoint(plugin), params={"limit": 1}).get("count", 0)
            if count:
                differences.append({"name": None, "base_path": None, "type": plugin, "kind": "plugin",
                                    "detail": "the upstream serves %d %s distribution(s); the downstream lacks the %s plugin"
                                    % (count, plugin, plugin)})
        summary = dict((kind, 0) for kind in DIFFERENCE_KINDS + ("plugin",))
        for item in differences:
            summary[item["kind"]] = summary.get(item["kind"], 0) + 1
        summary["skipped"] = len(skipped)
        differences.sort(key=lambda d: (d["kind"], d["type"] or "", d["name"] or ""))
        return {
            "exact": not differences,
            "differences": differences,
            "skipped": sorted(skipped, key=lambda d: d["name"]),
            "summary": summary,
            "checked": checked,
            "distributions": len(checked),
            "content_checked": sum(1 for c in checked if self.content_checked(c["name"])),
            "types": common,
            "missing_plugins": lacking,
            "seconds": round(time.time() - started, 3),
            "requests": self.down.request_count + self.up.request_count,
        }

    def content_checked(self, name):
        return self.check_content and (self.content_names is None or name in self.content_names)

    def _outside_request_scope(self):
        # A per-request filter narrows what the upstream lists; nothing is "extra" then.
        return self.q_select is not None and self.q_select != self.upstream_pulp.get("q_select")

    def _guarded(self, plugin, up, down):
        try:
            return self.compare_one(plugin, up, down)
        except PulpNotFound as exc:
            return [{"name": up["name"], "base_path": up["base_path"], "type": plugin, "kind": "dangling",
                     "detail": "a referenced object is gone: %s" % exc.message}]
        except PulpError as exc:
            return [{"name": up["name"], "base_path": up["base_path"], "type": plugin, "kind": "unserved",
                     "detail": exc.message}]


_REPO_NS = "{http://linux.duke.edu/metadata/repo}"
_COMMON_NS = "{http://linux.duke.edu/metadata/common}"
_DECOMPRESS = {".gz": gzip.decompress, ".xz": lzma.decompress, ".bz2": bz2.decompress}


def first_package_location(url, repomd, fetch):
    """The location (relative to ``url``) of the first package of the primary metadata a repomd.xml names,
    or None when there is none or it cannot be read here (zstd needs no library we ship: then no probe)."""
    try:
        root = ET.fromstring(repomd)
    except ET.ParseError:
        return None
    for data in root.findall(_REPO_NS + "data"):
        if data.get("type") != "primary":
            continue
        location = data.find(_REPO_NS + "location")
        href = location.get("href") if location is not None else None
        decompress = next((f for suffix, f in _DECOMPRESS.items() if (href or "").endswith(suffix)),
                          None if (href or "").endswith(".zst") else (lambda body: body))
        if not href or decompress is None:
            return None
        status, body = fetch(url + href)
        if status != 200:
            return None
        package = ET.fromstring(decompress(body)).find(_COMMON_NS + "package")
        location = package.find(_COMMON_NS + "location") if package is not None else None
        return location.get("href") if location is not None else None
    return None


def table(report, limit=50):
    """A short human table of the report's differences."""
    lines = ["%-9s %-6s %-40s %s" % ("KIND", "TYPE", "DISTRIBUTION (base_path)", "DETAIL")]
    for item in report["differences"][:limit]:
        label = "%s (%s)" % (item["name"], item["base_path"]) if item["name"] else "-"
        lines.append("%-9s %-6s %-40s %s" % (item["kind"], item["type"], label, item["detail"]))
    if len(report["differences"]) > limit:
        lines.append("... and %d more (see the JSON report)" % (len(report["differences"]) - limit))
    for item in report.get("skipped", []):
        label = "%s (%s)" % (item["name"], item["base_path"])
        lines.append("%-9s %-6s %-40s %s" % ("skipped", item["type"], label, item["detail"]))
    counts = ", ".join("%s %d" % (k, v) for k, v in sorted(report["summary"].items()) if v and k != "skipped")
    lines.append("%d distribution(s) checked: %s%s" % (
        report["distributions"], "exact" if report["exact"] else counts,
        ", %d skipped on purpose" % len(report["skipped"]) if report.get("skipped") else ""))
    return lines


def junit(report, suite="replica_audit"):
    """JUnit XML: one test case per upstream distribution, failed where it differs."""
    cases = []
    failures = 0
    for item in report["checked"]:
        name = escape("%s (%s)" % (item["name"], item["base_path"]), {'"': "&quot;"})
        if item["differences"]:
            failures += 1
            text = escape("\n".join("%s: %s" % (d["kind"], d["detail"]) for d in item["differences"]))
            kinds = escape(",".join(sorted(set(d["kind"] for d in item["differences"]))))
            cases.append('  <testcase classname="%s.%s" name="%s"><failure message="%s">%s</failure></testcase>'
                         % (suite, item["type"], name, kinds, text))
        else:
            cases.append('  <testcase classname="%s.%s" name="%s"/>' % (suite, item["type"], name))
    for item in report["differences"]:
        if item["kind"] in ("extra", "plugin"):
            failures += 1
            name = escape("%s %s" % (item["kind"], item["name"] or item["type"]), {'"': "&quot;"})
            cases.append('  <testcase classname="%s.%s" name="%s"><failure message="%s">%s</failure></testcase>'
                         % (suite, item["type"], name, item["kind"], escape(item["detail"])))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="%s" tests="%d" failures="%d" time="%s">\n%s\n</testsuite>\n'
            % (suite, len(cases), failures, report["seconds"], "\n".join(cases)))
