# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Times as the collection handles them: naive datetimes in UTC, everywhere.

Pulp writes ISO 8601 with an offset or a Z; HTTP writes its Date header in RFC 7231
form. Both are read into naive UTC, so any two times can be compared.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utc_now():
    """Now, as a naive UTC datetime (datetime.utcnow() is deprecated from Python 3.12 on)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _naive_utc(moment):
    if moment.tzinfo is not None:
        moment = moment.replace(tzinfo=None) - (moment.utcoffset() or timedelta(0))
    return moment


def parse_time(text):
    """'2026-11-26T01:18:54.302491Z' (any offset) -> naive UTC datetime; None when absent or unparsable."""
    if not text:
        return None
    text = str(text).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        return _naive_utc(datetime.fromisoformat(text))
    except ValueError:
        return None


def format_time(moment):
    """A naive UTC datetime as ISO 8601 with a Z (None stays None)."""
    return moment.strftime(ISO_FORMAT) if moment else None


def parse_http_date(text):
    """An HTTP Date header -> naive UTC datetime, or None."""
    if not text:
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return _naive_utc(moment) if moment is not None else None


def seconds_between(start_text, end_text):
    """Seconds from one Pulp timestamp to another, rounded to ms; None when either is missing."""
    start, end = parse_time(start_text), parse_time(end_text)
    return round((end - start).total_seconds(), 3) if start and end else None
