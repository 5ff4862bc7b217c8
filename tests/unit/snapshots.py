"""Snapshots shaped like the API's answers, built by hand for the plan's and the record's tests."""

import uuid

from ansible_collections.pulpops.replication.plugins.module_utils import plan as P
from ansible_collections.pulpops.replication.plugins.module_utils import snapshot as S

PK = "0190aaaa-0000-7000-8000-000000000001"
OTHER = "0190bbbb-0000-7000-8000-000000000002"
LABEL = {"UpstreamPulp": PK}
UP = "http://up.example:24816/pulp/content/d/"
T0 = "2026-01-01T00:00:00Z"   # upstream content published
T1 = "2026-01-02T00:00:00Z"   # last replication
T2 = "2026-01-03T00:00:00Z"   # something changed upstream after it


def href(kind, type_path="file/file"):
    return "/pulp/d/api/v3/%s/%s/%s/" % (kind, type_path, uuid.uuid4())


def up_dist(name, base_path=None, serves=True, since=T0, type_path="file/file"):
    base_path = base_path or name
    return {"pulp_href": href("distributions", type_path), "name": name, "base_path": base_path,
            "base_url": UP + base_path + "/", "pulp_labels": {}, "repository": None, "repository_version": None,
            "publication": href("publications") if serves else None,
            "no_content_change_since": since if serves else None}


class Down(object):
    """A downstream domain built object by object, as replication (or a person) left it."""

    def __init__(self):
        self.dists, self.repos, self.remotes = [], [], []

    def replicated(self, name, base_path=None, labels=None, up_base_path=None, type_path="file/file"):
        labels = dict(LABEL) if labels is None else labels
        repo = {"pulp_href": href("repositories", type_path), "name": name, "pulp_labels": dict(labels)}
        repo["latest_version_href"] = repo["pulp_href"] + "versions/1/"
        self.repos.append(repo)
        self.remotes.append({"pulp_href": href("remotes", type_path), "name": name, "pulp_labels": dict(labels),
                             "url": UP + (up_base_path or base_path or name) + "/"})
        self.dists.append({"pulp_href": href("distributions", type_path), "name": name, "base_path": base_path or name,
                           "pulp_labels": dict(labels), "repository": None, "publication": None,
                           "repository_version": repo["latest_version_href"]})
        return self

    def hand_made(self, name, base_path=None):
        self.dists.append({"pulp_href": href("distributions"), "name": name, "base_path": base_path or name,
                           "pulp_labels": {}, "repository": None, "publication": href("publications"),
                           "repository_version": None})
        return self

    def artifacts(self):
        self.dists.append({"pulp_href": "/pulp/d/api/v3/distributions/core/artifacts/x/", "name": "artifacts",
                           "base_path": "artifacts", "pulp_labels": {}})
        return self

    def snapshot(self):
        return S.downstream_snapshot(self.dists, self.repos, self.remotes)


def server(policy="all", last=T1, exists=True):
    return S.upstream_pulp_view({"pulp_href": "/pulp/d/api/v3/upstream-pulps/%s/" % PK, "policy": policy,
                                 "q_select": None, "last_replication": last, "pulp_last_updated": T0} if exists else None,
                                policy=policy)


def plan(upstream, down, policy="all", **kw):
    srv = kw.pop("srv", None) or server(policy)
    return P.compute_plan(S.upstream_snapshot(upstream), down.snapshot(), srv, **kw)


def names(*items):
    return sorted(items)
