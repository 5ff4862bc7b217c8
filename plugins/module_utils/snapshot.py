# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Snapshots: both servers' objects as plain data, the form the plan, the record and the audit read.

A snapshot is ``{"distributions": [...], "repositories": [...], "remotes": [...]}`` of
normalized objects (``normalize_*``). What a distribution serves is one comparable value
(``serves_of``); who owns an object is its ownership label (``label_key`` names the key).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# The kinds of object a replication creates, updates and deletes, in the order it handles them.
OBJECT_KINDS = ("distributions", "repositories", "remotes")
SINGULAR = {"distributions": "distribution", "repositories": "repository", "remotes": "remote"}
PLURAL = dict((v, k) for k, v in SINGULAR.items())
# The label replication puts on what it creates (key: its UpstreamPulp's pk); the key is read from the server.
DEFAULT_LABEL_KEY = "UpstreamPulp"
ARTIFACTS_TYPE = "core/artifacts"  # the server's own distribution of artifacts: never replicated
_TYPE_RE = re.compile(r"/(distributions|repositories|remotes)/([^/]+)/([^/]+)/")

# What the normalizers read: list requests ask for these fields only (cheaper for the server).
DISTRIBUTION_FIELDS = ("name", "pulp_href", "base_path", "base_url", "pulp_labels", "repository", "repository_version",
                       "publication", "no_content_change_since")
REPOSITORY_FIELDS = ("name", "pulp_href", "pulp_labels", "latest_version_href")
REMOTE_FIELDS = ("name", "pulp_href", "pulp_labels", "url")
# The upstream is listed per type: its rows need no href (the plan reads their type from the endpoint,
# and an href costs the server a query per row, 0.1 s per 50 on the lab).
UPSTREAM_DISTRIBUTION_FIELDS = tuple(f for f in DISTRIBUTION_FIELDS if f != "pulp_href")


def object_type(href):
    """'/pulp/d/api/v3/distributions/file/file/<id>/' -> 'file/file' ('' when unknown)."""
    match = _TYPE_RE.search(href or "")
    return "%s/%s" % (match.group(2), match.group(3)) if match else ""


def plugin_of(type_path):
    return (type_path or "").split("/")[0]


def href_pk(href):
    """The last path segment of an href (an UpstreamPulp's pk)."""
    return [part for part in (href or "").split("/") if part][-1] if href else ""


def serves_of(raw):
    """What an API distribution serves, as one comparable value (None: nothing)."""
    if raw.get("repository_version"):
        return "version:" + raw["repository_version"]
    if raw.get("publication"):
        return "publication:" + raw["publication"]
    if raw.get("repository"):
        return "repository:" + raw["repository"]
    if "publication" not in raw and raw.get("no_content_change_since"):
        # Generic list endpoints omit 'publication'; a timestamp says a publication is served.
        return "publication@" + raw["no_content_change_since"]
    return None


def serves_something(distribution):
    """Whether a distribution (API object or normalized) serves any content."""
    if "serves" in distribution:
        return bool(distribution["serves"])
    return serves_of(distribution) is not None


def normalize_distribution(raw, type_path=None):
    """``type_path``: the type of a row listed without its href (from a per-type endpoint)."""
    return {
        "name": raw["name"],
        "href": raw.get("pulp_href"),
        "type": object_type(raw.get("pulp_href")) or type_path or "",
        "base_path": raw.get("base_path"),
        "base_url": raw.get("base_url"),
        "labels": dict(raw.get("pulp_labels") or {}),
        "serves": serves_of(raw),
        "no_content_change_since": raw.get("no_content_change_since"),
    }


def normalize_repository(raw):
    return {
        "name": raw["name"],
        "href": raw.get("pulp_href"),
        "type": object_type(raw.get("pulp_href")),
        "labels": dict(raw.get("pulp_labels") or {}),
        "latest_version": raw.get("latest_version_href"),
    }


def normalize_remote(raw):
    return {
        "name": raw["name"],
        "href": raw.get("pulp_href"),
        "type": object_type(raw.get("pulp_href")),
        "labels": dict(raw.get("pulp_labels") or {}),
        "url": raw.get("url"),
    }


def downstream_snapshot(distributions, repositories, remotes):
    """The downstream domain as the plan sees it; the server-owned artifacts distribution is left out."""
    return {
        "distributions": [normalize_distribution(d) for d in distributions if object_type(d.get("pulp_href")) != ARTIFACTS_TYPE],
        "repositories": [normalize_repository(r) for r in repositories],
        "remotes": [normalize_remote(r) for r in remotes],
    }


def upstream_snapshot(distributions, type_path=None):
    """Upstream distributions in scope, in the order the server lists them (``type_path``: see normalize_distribution)."""
    return {"distributions": [normalize_distribution(d, type_path) for d in distributions
                              if object_type(d.get("pulp_href")) != ARTIFACTS_TYPE]}


def upstream_pulp_view(upstream_pulp, policy=None, q_select=None):
    """The UpstreamPulp fields the plan and the record need (or a stand-in when it does not exist yet)."""
    upstream_pulp = upstream_pulp or {}
    return {
        "pk": href_pk(upstream_pulp.get("pulp_href")),
        "href": upstream_pulp.get("pulp_href"),
        "exists": bool(upstream_pulp.get("pulp_href")),
        "policy": upstream_pulp.get("policy") or policy or "all",
        "q_select": upstream_pulp.get("q_select") if upstream_pulp else q_select,
        "base_url": upstream_pulp.get("base_url"),
        "last_replication": upstream_pulp.get("last_replication"),
        "pulp_last_updated": upstream_pulp.get("pulp_last_updated"),
    }


def label_key_of(label_sets, pk, default=DEFAULT_LABEL_KEY):
    """The ownership label key, read from objects' labels: the key whose value is ``pk``.

    ``label_sets``: the labels (dicts) of the downstream objects. The default key wins
    when it carries ``pk``; with no object labeled for ``pk``, the default.
    """
    if not pk:
        return default
    for labels in label_sets:
        labels = labels or {}
        if labels.get(default) == pk:
            return default
        for key, value in labels.items():
            if value == pk:
                return key
    return default


def detect_label_key(downstream, pk, default=DEFAULT_LABEL_KEY):
    """The label key replication puts on what it creates, read from a downstream snapshot."""
    return label_key_of((obj.get("labels") for kind in OBJECT_KINDS for obj in downstream.get(kind, [])), pk, default)


def owned(obj, key, pk):
    """Whether a normalized object carries the ownership label of UpstreamPulp ``pk``."""
    return (obj.get("labels") or {}).get(key) == pk


def owner_text(obj, key):
    value = (obj.get("labels") or {}).get(key)
    return "UpstreamPulp %s" % value if value else "nobody (hand-made)"
