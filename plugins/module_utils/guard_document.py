# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A JSON document kept in a content guard: what the domain lock and the replication record are.

The document lives in the ``description`` of a content_redirect guard that protects nothing.
Such a guard is a safe home: guard names are unique across guard types in a domain (so of
any number of simultaneous creates exactly one gets the 201), replication's remove_missing
touches distributions, repositories and remotes only, and an unattached guard changes
nothing users see. Each document names its ``kind`` (and may carry a ``version``); a guard
whose description is not a document of that kind is reported as foreign, never overwritten.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.pulpops.replication.plugins.module_utils.client import PulpValidationError

GUARD_ENDPOINT = "contentguards/core/content_redirect/"
GUARD_FEATURE = "content_guards"  # server_features: the pulpcore that introduced content_redirect guards


def encode(document):
    """The description text of a document (stable: sorted keys, no spaces)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def name_taken(exc):
    """Whether a refused create says the guard's name is already used."""
    messages = (exc.fields or {}).get("name")
    if not isinstance(messages, (list, tuple)):
        messages = [] if messages is None else [messages]
    text = " ".join(str(m) for m in messages).lower()
    return "unique" in text or "exists" in text


def parse_document(text, kind, version=None, valid=None):
    """The document of ``kind`` (and ``version``, when given) in a description text, or None."""
    try:
        document = json.loads(text or "")
    except ValueError:
        return None
    if not isinstance(document, dict) or document.get("kind") != kind:
        return None
    if version is not None and document.get("version") != version:
        return None
    if valid is not None and not valid(document):
        return None
    return document


class GuardDocument(object):
    """The document of one ``kind`` in the guard ``name`` of ``client``'s domain.

    ``version``: the document version this code reads (None: any); ``valid``: an extra
    check of a parsed document (e.g. that a field has the right type).
    """

    def __init__(self, client, name, kind, version=None, valid=None):
        self.client = client
        self.name = name
        self.kind = kind
        self.version = version
        self._valid = valid

    def parse(self, text):
        """The document in a guard's description, or None when it is not one of this kind."""
        return parse_document(text, self.kind, self.version, self._valid)

    def read(self):
        """(guard, document): (None, None) when no guard has the name, (guard, None) when it holds something else."""
        page = self.client.get("contentguards/", params={"name": self.name, "limit": 2})
        results = page.get("results", []) if isinstance(page, dict) else []
        if not results:
            return None, None
        return results[0], self.parse(results[0].get("description"))

    def create(self, document):
        """POST the guard: the new guard, or None when the name is already taken.

        Any other refusal raises the server's PulpValidationError.
        """
        try:
            return self.client.post(GUARD_ENDPOINT, {"name": self.name, "description": encode(document)})
        except PulpValidationError as exc:
            if name_taken(exc):
                return None
            raise

    def replace(self, guard, document):
        """PATCH the document into an existing guard; returns the guard as the server shows it."""
        return self.client.patch(guard["pulp_href"], {"description": encode(document)})

    def delete(self, guard):
        """DELETE the guard by its own href (a guard created since under the same name is not hit)."""
        self.client.delete(guard["pulp_href"], allow_404=True)
