# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The domain lease: one replication at a time into a downstream domain.

The lock is a content guard named ``lock_name`` in the downstream domain:

- acquiring is the POST that creates it: names are unique across guard types in a
  domain, so of any number of simultaneous POSTs exactly one gets the 201;
- its ``description`` holds JSON ``{owner, acquired_at, expires_at, ttl, token}``;
- the lease ends at the guard's ``pulp_last_updated`` plus ``ttl`` (both on the
  server's clock; a renewal is a PATCH, which moves ``pulp_last_updated``), and
  "now" is the server's ``Date`` header, so no client clock is trusted;
- a stale lease is broken by DELETE of the stale guard's own ``pulp_href`` (a new
  holder's guard has another href, so it cannot be hit), and then taken only by a
  POST that gets the 201 (several DELETEs of one href may all answer 204).

Replication's remove_missing touches distributions, repositories and remotes only,
and an unattached guard protects nothing, so the lock disturbs nothing users see.
This file depends on the client only (no Ansible import): tests and bench use it too.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import getpass
import os
import random
import socket
import time
import uuid
from datetime import timedelta

from ansible_collections.pulpops.replication.plugins.module_utils.client import (
    PulpError,
    PulpValidationError,
    backoff_delay,
)
from ansible_collections.pulpops.replication.plugins.module_utils.guard_document import (
    GUARD_ENDPOINT,
    GuardDocument,
    parse_document,
)
from ansible_collections.pulpops.replication.plugins.module_utils.timestamps import (
    format_time,
    parse_http_date,
    parse_time,
    utc_now,
)

DEFAULT_LOCK_NAME = "pulpops-replication-lock"
LOCK_KIND = "pulpops.replication/domain-lock"
AWX_JOB_ENV = ("JOB_ID", "AWX_JOB_ID", "tower_job_id", "TOWER_JOB_ID")


class LockError(PulpError):
    """The lock could not be taken, released or renewed; ``holder`` says who has it."""

    def __init__(self, message, holder=None):
        super(LockError, self).__init__(message)
        self.holder = holder


def lock_document(client, name):
    """The lock ``name`` of ``client``'s domain, as a guard document."""
    return GuardDocument(client, name, LOCK_KIND)


# ------------------------------------------------------------------- owners
def playbook_pid(start_pid=None, proc="/proc"):
    """The pid of the outermost ``ansible-playbook`` ancestor, or None.

    Each task of a play runs in a fresh process, so the parent pid differs from task to
    task; the ansible-playbook process is the same for every task of one run.
    """
    pid = start_pid or os.getppid()
    found = None
    for _unused in range(64):
        if pid <= 1:
            break
        try:
            with open(os.path.join(proc, str(pid), "cmdline"), "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
            with open(os.path.join(proc, str(pid), "stat"), "rb") as handle:
                stat = handle.read().decode("utf-8", "replace")
        except (IOError, OSError):
            break
        if "ansible-playbook" in cmdline or "ansible-runner" in cmdline:
            found = pid
        # The command name may hold spaces and parentheses: the ppid follows the last ')'.
        try:
            pid = int(stat.rsplit(")", 1)[1].split()[1])
        except (IndexError, ValueError):
            break
    return found


def default_owner(environ=None, user=None, host=None, pid=None):
    """'user@host pid=N[ job=J]': who runs this, where, which process, which AWX job."""
    environ = os.environ if environ is None else environ
    if user is None:
        try:
            user = getpass.getuser()
        except Exception:  # no passwd entry (containers): fall back to the uid
            user = "uid%d" % os.getuid()
    host = host or socket.gethostname()
    if pid is None:
        pid = playbook_pid() or os.getppid()
    owner = "%s@%s pid=%s" % (user, host, pid)
    for key in AWX_JOB_ENV:
        if environ.get(key):
            owner += " job=%s" % environ[key]
            break
    return owner


# -------------------------------------------------------------------- holder
class Holder(object):
    """Who holds the lock according to the server, and until when."""

    def __init__(self, guard, record=None):
        """``record``: the lock document the guard holds (read from its description when not given)."""
        self.guard = guard
        self.href = guard.get("pulp_href")
        self.since = guard.get("pulp_created")
        if record is None:
            record = parse_document(guard.get("description"), LOCK_KIND)
        record = record or {}
        self.record = record
        self.is_lock = bool(record)
        self.owner = record.get("owner") if record else None
        self.token = record.get("token")
        try:
            self.ttl = float(record.get("ttl"))
        except (TypeError, ValueError):
            self.ttl = None
        updated = parse_time(guard.get("pulp_last_updated") or guard.get("pulp_created"))
        self.expires = updated + timedelta(seconds=self.ttl) if (updated and self.ttl is not None) else None

    @property
    def expires_at(self):
        return format_time(self.expires)

    def expired(self, server_now):
        """True once the lease has ended on the server's clock; a foreign object never expires."""
        if not self.is_lock or self.expires is None or server_now is None:
            return False
        return server_now >= self.expires

    def describe(self):
        if not self.is_lock:
            return "an object that is not a pulpops lock (content guard %s named %r)" % (self.href, self.guard.get("name"))
        return "held by %s since %s, lease ends at %s" % (self.owner, self.since, self.expires_at)

    def as_dict(self):
        if not self.is_lock:
            return {"owner": None, "since": self.since, "expires_at": None, "href": self.href, "foreign": True}
        return {"owner": self.owner, "since": self.since, "expires_at": self.expires_at, "href": self.href}


# ---------------------------------------------------------------------- lock
class DomainLock(object):
    """The lease on one downstream domain, taken and given back through ``client``."""

    def __init__(self, client, name=DEFAULT_LOCK_NAME, owner=None, ttl=3600, check_mode=False,
                 sleep=time.sleep, monotonic=time.monotonic):
        if not name or not str(name).strip():
            raise PulpError("lock_name must not be empty")
        if ttl is None or ttl <= 0:
            raise PulpError("ttl must be a positive number of seconds, got %r" % (ttl,))
        self.client = client
        self.name = name
        self.document = lock_document(client, name)
        self.owner = owner or default_owner()
        self.ttl = ttl
        self.check_mode = check_mode
        self._sleep = sleep
        self._monotonic = monotonic
        self._server_date = None
        self._server_date_at = None
        self._broke_stale = False
        hooks = client.session.hooks.setdefault("response", [])
        if not isinstance(hooks, list):
            hooks = [hooks]
            client.session.hooks["response"] = hooks
        hooks.append(self._note_server_date)

    # ------------------------------------------------------------- server time
    def _note_server_date(self, response, *args, **kwargs):
        moment = parse_http_date(response.headers.get("Date"))
        if moment is not None:
            self._server_date = moment
            self._server_date_at = self._monotonic()
        return response

    def server_now(self):
        """The server's clock as of the last response (its Date header, floored to a second)."""
        if self._server_date is None:
            return None
        return self._server_date + timedelta(seconds=self._monotonic() - self._server_date_at)

    def _last_server_date(self):
        # For the expiry decision: the Date of the response that was just read, never
        # extrapolated, so that a lease is never judged over before the server says so.
        return self._server_date

    # ------------------------------------------------------------------ reads
    def read(self):
        """The current holder (a Holder) or None when the lock is free."""
        guard, record = self.document.read()
        return Holder(guard, record) if guard is not None else None

    def status(self):
        """{'free': bool, 'holder': dict or None, 'mine': bool} without writing anything."""
        holder = self.read()
        now = self._last_server_date()
        free = holder is None or holder.expired(now)
        return {
            "free": free,
            "holder": holder.as_dict() if holder else None,
            "mine": bool(holder and holder.is_lock and holder.owner == self.owner and not holder.expired(now)),
            "lock_href": holder.href if holder else None,
        }

    # ----------------------------------------------------------------- writes
    def _record(self, token):
        now = self.server_now() or utc_now()
        return {
            "kind": LOCK_KIND,
            "owner": self.owner,
            "acquired_at": format_time(now),
            "expires_at": format_time(now + timedelta(seconds=self.ttl)),
            "ttl": self.ttl,
            "token": token,
        }

    def _create(self):
        """POST the guard: the Holder on 201, None when the name is taken (400 unique)."""
        record = self._record(uuid.uuid4().hex)
        try:
            guard = self.document.create(record)
        except PulpValidationError as exc:
            raise PulpError("lock_name %r was refused by the server: %s" % (self.name, exc.message))
        return Holder(guard, record) if guard is not None else None

    def try_acquire(self):
        """One attempt. Returns (outcome, holder): outcome is 'acquired', 'held' (by us
        already), 'busy' or 'would_acquire' (check mode)."""
        holder = None
        if self.check_mode:
            holder = self.read()
            now = self._last_server_date()
            if holder is None or holder.expired(now):
                return "would_acquire", holder
            if holder.is_lock and holder.owner == self.owner:
                return "held", holder
            return "busy", holder
        created = self._create()
        if created is not None:
            return "acquired", created
        holder = self.read()
        if holder is None:
            return "busy", None  # released between our POST and our GET: try again at once
        now = self._last_server_date()
        if holder.is_lock and holder.owner == self.owner and not holder.expired(now):
            return "held", holder
        if holder.expired(now):
            # Break the stale lease by its own href: a newer holder's guard has another href.
            self._broke_stale = True
            self.document.delete(holder.guard)
            created = self._create()
            if created is not None:
                return "acquired", created
            return "busy", self.read()
        return "busy", holder

    def acquire(self, timeout=600, poll_interval=5.0):
        """Wait up to ``timeout`` s for the lock (0: one attempt). Returns a result dict;
        raises LockError naming the holder when time runs out."""
        started = self._monotonic()
        attempt = 0
        while True:
            outcome, holder = self.try_acquire()
            waited = round(self._monotonic() - started, 3)
            if outcome in ("acquired", "held", "would_acquire"):
                return {
                    "acquired": outcome in ("acquired", "held"),
                    "changed": outcome in ("acquired", "would_acquire"),
                    "free": outcome == "would_acquire",
                    # Taken by the first create, nobody else's lease met: nothing replicated into the domain
                    # under this lock between a plan read before it and the lease.
                    "contended": attempt > 0 or self._broke_stale,
                    "waited": waited,
                    "holder": holder.as_dict() if holder else None,
                    "lock_href": holder.href if (holder and outcome != "would_acquire") else None,
                    "token": holder.token if (holder and outcome != "would_acquire") else None,
                }
            if self.check_mode:
                return {"acquired": False, "changed": False, "free": False, "waited": waited, "contended": True,
                        "holder": holder.as_dict() if holder else None,
                        "lock_href": holder.href if holder else None, "token": None}
            remaining = timeout - (self._monotonic() - started)
            if holder is not None and not holder.is_lock:
                raise LockError("Cannot take lock %r in domain %s: its name is used by %s. Choose another lock_name."
                                % (self.name, self.client.domain, holder.describe()), holder=holder)
            if remaining <= 0:
                what = holder.describe() if holder else "held by another owner"
                raise LockError("Timed out after %ss waiting for lock %r in domain %s: %s"
                                % (timeout, self.name, self.client.domain, what), holder=holder)
            if holder is None:
                continue
            self._sleep(self._delay(attempt, poll_interval, remaining, holder))
            attempt += 1

    def _delay(self, attempt, poll_interval, remaining, holder):
        """Backoff with jitter, capped by poll_interval, the time left and the lease end."""
        delay = backoff_delay(attempt, poll_interval, 1.5) * (0.5 + random.random() / 2)
        now = self.server_now()
        if holder is not None and holder.expires is not None and now is not None:
            # Wake up just after the lease ends (Date headers have 1 s resolution).
            until_end = (holder.expires - now).total_seconds() + 1.0
            if until_end > 0:
                delay = min(delay, until_end)
        return max(0.01, min(delay, remaining))

    def release(self, force=False, lock_href=None):
        """Give the lock back. Idempotent; another owner's lock only with ``force``.

        With ``lock_href`` (what acquire returned), one DELETE of exactly that lease and no read: the
        href is only ever this owner's own lease (a lease taken over since has another href), so the
        owner need not be compared; a lease already gone leaves everything as it is.
        """
        if lock_href and not force and not self.check_mode:
            return self._release_by_href(lock_href)
        holder = self.read()
        if holder is None:
            return {"changed": False, "released": False, "holder": None, "lock_href": None}
        mine = holder.is_lock and holder.owner == self.owner
        if not holder.is_lock:
            raise LockError("Will not release lock %r in domain %s: its name is used by %s, which this module did not "
                            "create." % (self.name, self.client.domain, holder.describe()), holder=holder)
        if not mine and not force:
            raise LockError("Cannot release lock %r in domain %s: %s, not by %s. Use force: true to break it."
                            % (self.name, self.client.domain, holder.describe(), self.owner), holder=holder)
        if not self.check_mode:
            self.document.delete(holder.guard)
        return {"changed": True, "released": True, "holder": holder.as_dict(), "lock_href": holder.href}

    def _release_by_href(self, lock_href):
        guards = self.client.href(GUARD_ENDPOINT)
        if not lock_href.startswith(guards) or lock_href.rstrip("/").count("/") <= guards.rstrip("/").count("/"):
            raise PulpError("lock_href %r is not a lease of domain %s: give the lock_href that acquiring lock %r returned"
                            " (a content guard under %s)" % (lock_href, self.client.domain, self.name, guards))
        released = self.client.delete_found(lock_href)
        return {"changed": released, "released": released, "holder": None, "lock_href": lock_href}

    def renew(self, ttl=None):
        """Extend this owner's lease to ``ttl`` s from now (server clock)."""
        if ttl is not None:
            self.ttl = ttl
        holder = self.read()
        now = self._last_server_date()
        if holder is None or not holder.is_lock or holder.owner != self.owner:
            what = holder.describe() if holder else "it is free"
            raise LockError("Cannot renew lock %r in domain %s for %s: %s. Acquire it first."
                            % (self.name, self.client.domain, self.owner, what), holder=holder)
        if holder.expired(now):
            # A waiter may already be deleting it: renewing now could not be trusted.
            raise LockError("Cannot renew lock %r in domain %s: the lease of %s ended at %s. Acquire it again."
                            % (self.name, self.client.domain, self.owner, holder.expires_at), holder=holder)
        if self.check_mode:
            return {"changed": True, "renewed": False, "holder": holder.as_dict(), "lock_href": holder.href,
                    "token": holder.token}
        record = self._record(holder.token)
        record["acquired_at"] = holder.record.get("acquired_at")
        try:
            guard = self.document.replace(holder.guard, record)
        except PulpError as exc:
            if getattr(exc, "status", None) == 404:
                raise LockError("Lost lock %r in domain %s: it was broken while renewing. Acquire it again."
                                % (self.name, self.client.domain))
            raise
        renewed = Holder(guard, record)
        return {"changed": True, "renewed": True, "holder": renewed.as_dict(), "lock_href": renewed.href,
                "token": renewed.token}
