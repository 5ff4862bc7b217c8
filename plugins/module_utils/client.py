# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one REST client every module, test, benchmark and the lab share.

It depends on ``requests`` only (no Ansible import), so the lab's seeder and the
benchmarks use exactly the code the modules use.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import random
import re
import time

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported, sanity imports it
    from urlparse import urlsplit  # type: ignore

try:
    import requests
    from requests.auth import HTTPBasicAuth

    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the module
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = exc

from ansible_collections.pulpops.replication.plugins.module_utils.server_features import (
    describe,
    first_release,
    supports,
    version_text,
)
from ansible_collections.pulpops.replication.plugins.module_utils.trust import ca_bundle_path

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# Seconds to connect and finish the TLS handshake: a server that accepts the connection but never
# answers the handshake (plain HTTP on an https:// URL) is given up on soon, not after the read timeout.
CONNECT_TIMEOUT = 10
# A request that timed out is tried once more at most: a server that stays silent costs two timeouts, not four.
TIMEOUT_ATTEMPTS = 2
RETRY_STATUSES = (502, 503, 504)
TASK_FINAL_STATES = ("completed", "failed", "canceled", "skipped")
TASK_ERROR_STATES = ("failed", "canceled")
TASK_ACTIVE_STATES = ("waiting", "running", "canceling")
# What a poll of a task group asks for: whether its tasks were all dispatched, and how many are active.
GROUP_COUNT_FIELDS = "all_tasks_dispatched," + ",".join(TASK_ACTIVE_STATES)
MAX_HREF_FILTER_CHARS = 2000
# The cookies of a session: Django's session id and its CSRF token (kept together, never written anywhere).
SESSION_COOKIES = ("sessionid", "csrftoken")

# Where sessions outlive one client (plugin_utils/session_keeper.py, set by the collection's action
# plugins for the task they run in the controller); None: each client logs in for itself.
_SESSION_STORE = [None]


def use_session_store(store):
    """Make every PulpClient built from now on in this process reuse and offer sessions through ``store``
    (an object with get(key), put(key, cookies, logout), drop(key)); None turns it off."""
    _SESSION_STORE[0] = store


# The user:password@ part of a URL: up to the last '@' before the host's end (a password may hold an '@').
_USERINFO = re.compile(r"(?<=://)[^/\s]*@")


# An option's whole value read as a URL: everything from the scheme to its last '@' may be a user and a
# password (one that holds '/', '#', '?' or a space breaks the URL, and must be masked all the same).
_OPTION_USERINFO = re.compile(r"^\s*[A-Za-z][A-Za-z0-9+.-]*://(.*)@", re.S)


def url_passwords(value):
    """The password written into an option's URL value (``https://user:PASSWORD@host``), as a set
    (empty when there is none), so that it can be masked like a no_log value."""
    match = _OPTION_USERINFO.match(value) if isinstance(value, str) else None
    password = match.group(1).partition(":")[2] if match else ""
    return {password} if password else set()


def hide_option_userinfo(value):
    """An option's URL value fit to repeat in a message: everything from the scheme to the last '@' hidden."""
    if not isinstance(value, str) or not _OPTION_USERINFO.match(value):
        return value
    return _OPTION_USERINFO.sub(lambda match: match.group(0)[:match.start(1) - match.start(0)] + "***@", value)


def hide_userinfo(text):
    """``text`` with the credentials of every URL in it (``https://user:pass@host``) shown as ``***@``."""
    if not isinstance(text, str):
        return text
    return _USERINFO.sub("***@", text)


class PulpError(Exception):
    """An expected failure: its message is fit to show an operator, and holds no secret
    (credentials written into a URL are hidden here, whoever built the message)."""

    def __init__(self, message, status=None, url=None, body=None):
        message = hide_userinfo(message)
        super(PulpError, self).__init__(message)
        self.message = message
        self.status = status
        self.url = url
        self.body = body


class PulpConnectionError(PulpError):
    """The server could not be reached (refused, DNS, TLS, timeout)."""


class PulpAuthError(PulpError):
    """401/403."""


class PulpValidationError(PulpError):
    """400: the server refused the input; ``fields`` maps field to messages."""

    def __init__(self, message, status=None, url=None, body=None, fields=None):
        super(PulpValidationError, self).__init__(message, status, url, body)
        self.fields = fields or {}


class PulpNotFound(PulpError):
    """404."""


class PulpTaskError(PulpError):
    """A task ended failed or canceled; ``task`` is the task as the server reported it."""

    def __init__(self, message, task=None):
        super(PulpTaskError, self).__init__(message)
        self.task = task or {}


class PulpTimeout(PulpError):
    """A wait ran out of time; ``pending`` lists what was still running."""

    def __init__(self, message, href=None, pending=None):
        super(PulpTimeout, self).__init__(message)
        self.href = href
        self.pending = pending or []


def flatten_errors(body, prefix=""):
    """Turn a DRF error body into ``["field: message", ...]`` lines."""
    lines = []
    if isinstance(body, dict):
        for key, value in body.items():
            name = key if not prefix else "%s.%s" % (prefix, key)
            if key in ("detail", "non_field_errors") and not prefix:
                name = ""
            lines.extend(flatten_errors(value, name))
    elif isinstance(body, list):
        for item in body:
            lines.extend(flatten_errors(item, prefix))
    elif body is not None:
        text = str(body)
        lines.append("%s: %s" % (prefix, text) if prefix else text)
    return lines


def parse_version(text):
    """'3.123.1' -> (3, 123, 1); unparsable parts become 0."""
    parts = []
    for piece in str(text).split(".")[:3]:
        digits = ""
        for char in piece:
            if not char.isdigit():
                break
            digits += char
        parts.append(int(digits) if digits else 0)
    while len(parts) < 3:
        parts.append(0)
    return tuple(parts)


class PulpClient(object):
    """A client for one Pulp server and one domain on it.

    Authentication starts with HTTP basic auth and is upgraded to a session with
    ``POST .../login/`` where the server offers it: a basic-auth request costs the
    server about half a second of password hashing, a session request a few ms.
    """

    def __init__(
        self,
        base_url,
        username=None,
        password=None,
        validate_certs=True,
        ca_cert=None,
        client_cert=None,
        client_key=None,
        domain="default",
        api_root="/pulp/",
        timeout=60,
        retries=3,
        backoff=0.5,
        user_agent="pulpops.replication",
        use_session=True,
        domain_option="pulp_domain",
        tls_options=("validate_certs", "ca_cert"),
    ):
        if not HAS_REQUESTS:
            raise PulpError("The Python library 'requests' is required: %s" % REQUESTS_IMPORT_ERROR)
        try:
            parts = urlsplit(base_url or "")
            parts.port  # pylint: disable=pointless-statement  # raises ValueError for a port out of range
        except ValueError:
            parts = None
        if not base_url or parts is None or not parts.scheme or not parts.netloc:
            raise PulpError("pulp_url must be an absolute URL such as https://pulp.example.com, got %r" % (base_url,))
        self.base_url = base_url.rstrip("/")
        self._origin = "%s://%s" % (parts.scheme, parts.netloc.rpartition("@")[2])  # Referer, without credentials
        self.username = username
        self._password = password
        self.domain = domain or "default"
        self.domain_option = domain_option
        api_root = api_root or "/pulp/"
        self.api_root = "/" + api_root.strip("/") + "/"
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.use_session = use_session
        self.request_count = 0
        self.login_count = 0  # logins this client made itself (not sessions it reused)
        self._status = None
        self._logged_in = None
        self._store = _SESSION_STORE[0] if use_session else None
        self._reused_session = False
        self._trust = (bool(validate_certs), ca_cert, client_cert, client_key)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent
        self.session.headers["Accept"] = "application/json"
        # Passed on every request: requests lets REQUESTS_CA_BUNDLE override a session's verify, never a
        # request's CA file. ``ca_cert`` may be PEM text (as an UpstreamPulp holds it).
        self.verify = ca_bundle_path(ca_cert) if (ca_cert and validate_certs) else bool(validate_certs)
        self.tls_options = tls_options  # named in a TLS failure: the options that set this client's trust
        if client_cert:
            self.session.cert = (client_cert, client_key) if client_key else client_cert
        if not validate_certs:
            try:
                import urllib3

                urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            except Exception:  # pragma: no cover
                pass

    # ------------------------------------------------------------------ URLs
    @property
    def api_base(self):
        """The API prefix of this client's domain, e.g. '/pulp/default/api/v3/'."""
        if self.domain_enabled:
            return "%s%s/api/v3/" % (self.api_root, self.domain)
        if self.domain != "default" and self.domain_option:
            # Without domains every path is the default domain's: acting there would touch the wrong objects.
            # (A client built with domain_option=None ignores the domain there, as pulpcore's replication does.)
            raise PulpError(
                "%s: domain %r was asked for, but the server at %s has no domains (DOMAIN_ENABLED is off, or"
                " pulpcore is older than 3.23; it runs %s): omit it or give 'default'"
                % (self.domain_option, self.domain, self.base_url, version_text(self.core_version)))
        return "%sapi/v3/" % self.api_root

    def url(self, path):
        """An absolute URL for an href ('/pulp/...'), a full URL, or a path relative to the API base."""
        if path.startswith("http://") or path.startswith("https://"):
            return path
        if path.startswith("/"):
            return self.base_url + path
        return self.base_url + self.api_base + path

    def href(self, path):
        """The server-relative href of an endpoint relative to the API base."""
        return self.api_base + path

    # ---------------------------------------------------------------- status
    def status(self, refresh=False):
        """The server's /status/ (unauthenticated, never domain-scoped); read once per client, and with a
        session store once per run (the store keeps it beside the sessions: it is public)."""
        if self._status is None or refresh:
            url = "%s%sapi/v3/status/" % (self.base_url, self.api_root)
            if not refresh and self._store is not None:
                self._status = self._recall("status " + url)
            if self._status is None or refresh:
                response = self._send("GET", url, auth=None)
                if response.status_code != 200:
                    raise self._error(response, "GET", url)
                self._status = response.json()
                self._note("status " + url, self._status)
        return self._status

    def _recall(self, key):
        try:
            return self._store.recall(key)
        except Exception:  # pylint: disable=broad-except  # a store without it, or gone: read it
            return None

    def _note(self, key, value):
        if self._store is None:
            return
        try:
            self._store.note(key, value)
        except Exception:  # pylint: disable=broad-except
            pass

    @property
    def domain_enabled(self):
        return bool(self.status().get("domain_enabled", False))

    def versions(self):
        """{'core': (3, 123, 1), 'file': (...), ...} from /status/."""
        result = {}
        for item in self.status().get("versions", []):
            result[item.get("component")] = parse_version(item.get("version", "0"))
        if "core" not in result and "pulpcore" in result:  # the component's name before pulpcore 3.11
            result["core"] = result["pulpcore"]
        return result

    @property
    def core_version(self):
        return self.versions().get("core", (0, 0, 0))

    def supports(self, feature):
        """Whether this server has ``feature`` (a name of server_features.FEATURES)."""
        return supports(self.core_version, feature)

    def require_feature(self, feature, option=None, what=None):
        """Fail clearly, naming the option (or ``what``) and the server's version, when the server lacks ``feature``."""
        self.require_version(what or describe(feature), first_release(feature), option=option)

    def require_version(self, feature, minimum, option=None):
        """Fail clearly when the server's pulpcore is older than a feature needs."""
        if self.core_version < minimum:
            what = "option '%s'" % option if option else feature
            raise PulpError(
                "%s needs pulpcore >= %s; the server at %s runs pulpcore %s"
                % (what, version_text(minimum), self.base_url, version_text(self.core_version))
            )

    # ----------------------------------------------------------------- auth
    def _basic_auth(self):
        if self.username is None and self._password is None:
            return None
        # UTF-8, as Django REST framework decodes it first (requests would encode str as latin-1 and
        # fail on any other character, with part of the password in the error).
        return HTTPBasicAuth((self.username or "").encode("utf-8"), (self._password or "").encode("utf-8"))

    def login(self):
        """Upgrade to a session where the server has POST .../login/; basic auth otherwise.

        With a session store, a session this user already holds on this server (same URL, API root,
        password and trust) is reused without a request, and a new one is offered to the store.
        """
        if self._logged_in is not None:
            return self._logged_in
        self._logged_in = False
        if not self.use_session or self._basic_auth() is None:
            return False
        if self._store is not None and self._reuse_stored_session():
            return True
        url = self.url("login/")
        response = self._send("POST", url, auth=self._basic_auth(), headers={"Content-Type": "application/json"}, data="{}")
        if response.status_code in (200, 201) and self.session.cookies.get("sessionid"):
            self._logged_in = True
            self.login_count += 1
            if self._store is not None:
                self._offer_session(url)
        elif response.status_code in (401, 403):
            raise self._error(response, "POST", url)
        # 404/405: an older server without the login endpoint: keep basic auth.
        return self._logged_in

    def session_key(self):
        """What a kept session is filed under: a digest of the server, the user, the password and the trust,
        so that another password, CA or client certificate never gets this session."""
        material = json.dumps([self.base_url, self.api_root, self.username or "", self._password or ""] + list(self._trust))
        return hashlib.sha256(material.encode("utf-8")).hexdigest()

    def _reuse_stored_session(self):
        try:
            cookies = self._store.get(self.session_key())
        except Exception:  # pylint: disable=broad-except  # the store is an optimisation: log in instead
            return False
        if not cookies:
            return False
        for cookie in cookies:
            self.session.cookies.set(cookie["name"], cookie["value"], domain=cookie.get("domain", ""),
                                     path=cookie.get("path", "/"), secure=bool(cookie.get("secure")))
        self._logged_in = self._reused_session = True
        return True

    def _offer_session(self, login_url):
        cookies = [{"name": c.name, "value": c.value, "domain": c.domain, "path": c.path, "secure": bool(c.secure)}
                   for c in self.session.cookies if c.name in SESSION_COOKIES]
        validate, ca_cert, client_cert, client_key = self._trust
        logout = {"url": login_url, "referer": self._origin + "/", "validate_certs": validate, "ca_cert": ca_cert,
                  "client_cert": client_cert, "client_key": client_key, "timeout": min(CONNECT_TIMEOUT, self.timeout)}
        try:
            self._store.put(self.session_key(), cookies, logout)
        except Exception:  # pylint: disable=broad-except  # not kept: the next task logs in again
            pass

    def _session_expired(self):
        """A reused session was refused (expired, logged out, or the server's sessions were cleared): forget it
        and log in again. True when the request should be sent once more."""
        if not self._reused_session:
            return False
        self._reused_session = False
        try:
            self._store.drop(self.session_key())
        except Exception:  # pylint: disable=broad-except
            pass
        for name in SESSION_COOKIES:
            while name in self.session.cookies:
                self.session.cookies.pop(name, None)
        self._logged_in = None
        return True

    # ------------------------------------------------------------- requests
    def _send(self, method, url, auth=None, **kwargs):
        kwargs.setdefault("timeout", (min(CONNECT_TIMEOUT, self.timeout), self.timeout))
        kwargs.setdefault("verify", self.verify)
        attempts = 1 + (self.retries if method in SAFE_METHODS else 0)
        timeouts = 0
        for attempt in range(attempts):
            self.request_count += 1
            try:
                response = self.session.request(method, url, auth=auth, **kwargs)
            except requests.exceptions.SSLError as exc:
                raise PulpConnectionError(
                    "TLS verification failed for %s (host %s): %s. %s"
                    % (url, urlsplit(url).hostname, _short(exc), self._tls_advice(exc)),
                    url=url,
                )
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                timed_out = isinstance(exc, requests.exceptions.Timeout)
                timeouts += 1 if timed_out else 0
                if attempt + 1 < attempts and timeouts < TIMEOUT_ATTEMPTS:
                    self._sleep(attempt)
                    continue
                hint = ""
                if timed_out and url.startswith("https://"):
                    hint = " If the server speaks plain HTTP on that port, use an http:// URL."
                raise PulpConnectionError(
                    "%s %s %s: %s. Check that the server runs and that pulp_url (and its port) is right.%s"
                    % (method, url, "timed out" if timed_out else "could not connect", _short(exc), hint),
                    url=url,
                )
            except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
                    requests.exceptions.MissingSchema, requests.exceptions.InvalidHeader) as exc:
                # A URL or header requests cannot use (a port out of range, a bad host): nothing was sent.
                raise PulpConnectionError("%s %s cannot be sent: %s. Check pulp_url (or the upstream's base_url)."
                                          % (method, url, _short(exc)), url=url)
            except requests.exceptions.RequestException as exc:
                # The answer broke off (e.g. a chunked body cut short): a safe request is tried again.
                if attempt + 1 < attempts:
                    self._sleep(attempt)
                    continue
                acted = "" if method in SAFE_METHODS else " The server may have acted on it: check before running again."
                raise PulpConnectionError("%s %s failed while reading the answer: %s.%s"
                                          % (method, url, _short(exc), acted), url=url)
            if response.status_code in RETRY_STATUSES and attempt + 1 < attempts:
                self._sleep(attempt)
                continue
            return response
        return response  # pragma: no cover - the loop always returns

    def _tls_advice(self, exc):
        """What to do about a failed TLS handshake, naming this client's options."""
        validate, ca_cert = self.tls_options
        text = str(exc)
        if "Hostname mismatch" in text or "doesn't match" in text or "IP address mismatch" in text:
            return "The certificate names another host: use the host name the certificate was issued for."
        if "certificate has expired" in text:
            return "The server's certificate has expired: renew it on the server."
        if "certificate verify failed" in text and self.verify not in (True, False):
            return "The CA given in %s did not sign the server's certificate: give %s the CA that did." % (ca_cert, ca_cert)
        if "certificate verify failed" in text:
            return ("No CA this machine trusts signed the server's certificate: give %s the CA that did "
                    "(%s false turns verification off, not recommended)." % (ca_cert, validate))
        return "Check %s and %s (the server's CA bundle)." % (validate, ca_cert)

    def _sleep(self, attempt):
        time.sleep(self.backoff * (2 ** attempt) * (0.5 + random.random() / 2))

    def request(self, method, path, params=None, json_body=None, files=None, data=None, allow_404=False, missing=None):
        """Send one request with the client's authentication; return the decoded JSON body (or None;
        ``missing`` for a 404 with ``allow_404``)."""
        method = method.upper()
        url = self.url(path)
        response = self._authenticated(method, url, params, json_body, files, data)
        if response.status_code in (401, 403) and files is None and self._session_expired():
            # Refused before acting on it: send it again with a new login.
            response = self._authenticated(method, url, params, json_body, files, data)
        if response.status_code == 404 and allow_404:
            return missing
        if response.status_code >= 400:
            raise self._error(response, method, url)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return {"text": response.text}

    def _authenticated(self, method, url, params, json_body, files, data):
        self.login()
        headers = {}
        auth = None
        if self._logged_in:
            if method not in SAFE_METHODS:
                headers["X-CSRFToken"] = self.session.cookies.get("csrftoken", "")
                headers["Referer"] = self._origin + "/"
        else:
            auth = self._basic_auth()
        kwargs = {"params": params, "headers": headers}
        if files is not None or data is not None:
            kwargs["files"] = files
            kwargs["data"] = data
        elif json_body is not None:
            kwargs["data"] = json.dumps(json_body)
            headers["Content-Type"] = "application/json"
        return self._send(method, url, auth=auth, **kwargs)

    def fetch(self, url):
        """GET any URL without credentials (content the content app serves anonymously): the
        client's TLS settings and retries (a dropped keep-alive connection is tried again), a
        clean PulpConnectionError when the server stays away. Returns the response."""
        return self._send("GET", self.url(url), auth=None)

    def get(self, path, params=None, allow_404=False):
        return self.request("GET", path, params=params, allow_404=allow_404)

    def post(self, path, body=None, files=None, data=None):
        return self.request("POST", path, json_body=body if body is not None else {}, files=files, data=data)

    def patch(self, path, body):
        return self.request("PATCH", path, json_body=body)

    def delete(self, path, allow_404=False):
        return self.request("DELETE", path, allow_404=allow_404)

    def delete_found(self, path):
        """DELETE ``path``: True when it was there, False when the server answered 404."""
        return self.request("DELETE", path, allow_404=True, missing=False) is not False

    def list(self, path, params=None, page_size=1000):
        """Yield every item of a list endpoint, following ``next`` links."""
        query = dict(params or {})
        query.setdefault("limit", page_size)
        page = self.get(path, params=query)
        while True:
            yield from page.get("results", [])
            next_url = page.get("next")
            if not next_url:
                return
            page = self.get(self._same_origin(next_url))

    def list_all(self, path, params=None, page_size=1000):
        return list(self.list(path, params=params, page_size=page_size))

    def find(self, path, **filters):
        """The one object of a list endpoint matching ``filters``, or None."""
        filters.setdefault("limit", 2)
        page = self.get(path, params=filters)
        results = page.get("results", [])
        return results[0] if results else None

    def _same_origin(self, next_url):
        # The server builds next links from its own idea of its host; keep ours.
        parts = urlsplit(next_url)
        return parts.path + ("?" + parts.query if parts.query else "")

    # --------------------------------------------------------------- errors
    def _error(self, response, method, url):
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = response.text[:500]
        if status == 400:
            lines = flatten_errors(body)
            fields = body if isinstance(body, dict) else {}
            return PulpValidationError(
                "%s %s was refused (400): %s" % (method, _path(url), "; ".join(lines) or body),
                status=status, url=url, body=body, fields=fields,
            )
        if status in (401, 403):
            detail = "; ".join(flatten_errors(body)) if isinstance(body, (dict, list)) else str(body)[:200]
            who = "user '%s'" % self.username if self.username else "anonymous access (no username given)"
            permission = needed_permission(method, _path(url))
            if status == 403 and self.username and permission:
                return PulpAuthError(
                    "%s %s was denied (403) for %s on %s: %s. The user lacks the permission %s (a role that grants it, "
                    "assigned on domain '%s'); nothing was changed by this request."
                    % (method, _path(url), who, self.base_url, detail.rstrip("."), permission, self.domain),
                    status=status, url=url, body=body,
                )
            return PulpAuthError(
                "%s %s was denied (%s) for %s on %s: %s. Check username and password (or the client certificate)."
                % (method, _path(url), status, who, self.base_url, detail.rstrip(".")),
                status=status, url=url, body=body,
            )
        if status == 404:
            return PulpNotFound("%s %s: not found (404)" % (method, _path(url)), status=status, url=url, body=body)
        detail = "; ".join(flatten_errors(body)) if isinstance(body, (dict, list)) else str(body)[:300]
        return PulpError("%s %s failed (%s): %s" % (method, _path(url), status, detail), status=status, url=url, body=body)

    # ---------------------------------------------------------------- tasks
    def _poll(self, deadline, interval, attempt):
        # Backoff: start fast (tasks are often done in 100 ms), grow to ``interval``.
        delay = backoff_delay(attempt, interval, 1.6)
        if deadline is not None:
            delay = min(delay, max(0.0, deadline - time.time()))
        time.sleep(delay)

    def wait_task(self, task_href, timeout=600, poll_interval=2.0, raise_on_error=True):
        """Wait for one task; return it. A failed/canceled task raises PulpTaskError."""
        deadline = time.time() + timeout if timeout else None
        attempt = 0
        while True:
            task = self.get(task_href)
            if task.get("state") in TASK_FINAL_STATES:
                if raise_on_error and task.get("state") in TASK_ERROR_STATES:
                    raise PulpTaskError("Task %s %s: %s" % (task.get("name"), task.get("state"), task_error_text(task)), task=task)
                return task
            if deadline is not None and time.time() >= deadline:
                raise PulpTimeout(
                    "Task %s (%s) did not finish within %s s; it is %s." % (task_href, task.get("name"), timeout, task.get("state")),
                    href=task_href, pending=[task],
                )
            self._poll(deadline, poll_interval, attempt)
            attempt += 1

    def by_hrefs(self, path, hrefs, fields=None, batch=100):
        """{href: object} for many objects of one list endpoint: ``pulp_href__in`` a page at a time, not a
        request per object. An href the answer lacks is simply absent (the caller reads it by itself)."""
        found = {}
        for chunk in _href_chunks(sorted(set(hrefs)), batch):
            query = {"pulp_href__in": ",".join(chunk), "limit": len(chunk)}
            if fields:
                query["fields"] = fields
            for item in self.get(path, params=query).get("results", []):
                if item.get("pulp_href") in chunk:
                    found[item["pulp_href"]] = item
        return found

    def wait_tasks(self, task_hrefs, timeout=600, poll_interval=2.0, batch=100):
        """Wait for many tasks, polling the unfinished ones a page at a time. Returns {href: task}."""
        deadline = time.time() + timeout if timeout else None
        pending = list(task_hrefs)
        done = {}
        attempt = 0
        while pending:
            for href, task in self.by_hrefs("tasks/", pending, batch=batch).items():
                if task.get("state") in TASK_FINAL_STATES:
                    done[href] = task
            pending = [href for href in pending if href not in done]
            if not pending:
                break
            if deadline is not None and time.time() >= deadline:
                raise PulpTimeout("%d task(s) did not finish within %s s" % (len(pending), timeout), pending=pending)
            self._poll(deadline, poll_interval, attempt)
            attempt += 1
        return done

    def task_result(self, response, timeout=600, poll_interval=2.0):
        """Given a write's answer: a task's href is waited for (the task returned); else the body."""
        if isinstance(response, dict) and set(response.keys()) == {"task"}:
            return self.wait_task(response["task"], timeout=timeout, poll_interval=poll_interval)
        return response

    def _task_list(self, group_href, fields=None):
        """Every task of a task group (paged), oldest first; ``fields``: only these (a comma-separated list)."""
        params = {"task_group": group_href, "ordering": "pulp_created"}
        if fields:
            params["fields"] = fields
        return self.list_all("tasks/", params=params)

    def wait_task_group(self, group_href, timeout=3600, poll_interval=2.0, finished=None, task_fields=None):
        """Wait for a task group; return (group, tasks).

        ``finished(group, tasks)`` decides when the group is done; by default when no
        task is active and the group says all tasks were dispatched. ``task_fields``: the
        fields of each task read once the group is done (default: all of them; a task list
        in full costs the server several times more than the few fields a report needs).

        Each poll asks only for the group's counts of active tasks, which costs the server a
        fraction of the group with its task list (that grows with the group, about 0.25 s for a
        hundred tasks); the group and its tasks are read when no task is active any more, or
        at the timeout (to name what still runs).
        """
        deadline = time.time() + timeout if timeout else None
        attempt = 0
        while True:
            counts = self.get(group_href, params={"fields": GROUP_COUNT_FIELDS})
            # A server whose groups lack the counts answers without them: the group is then read every poll.
            active = sum(counts.get(state) or 0 for state in TASK_ACTIVE_STATES)
            timed_out = deadline is not None and time.time() >= deadline
            if not active or timed_out:
                # The group lists its tasks (name and state) itself; every task with the fields asked for is
                # read once, when the group is done.
                group = self.get(group_href)
                tasks = group.get("tasks")
                if tasks is None:
                    tasks = self._task_list(group_href, task_fields)
                if finished is None:
                    done = not [t for t in tasks if t.get("state") in TASK_ACTIVE_STATES] and bool(group.get("all_tasks_dispatched"))
                else:
                    done = finished(group, tasks)
                if done:
                    return group, (self._task_list(group_href, task_fields) if "tasks" in group else tasks)
                if timed_out:
                    pending = [t for t in tasks if t.get("state") in TASK_ACTIVE_STATES]
                    raise PulpTimeout(
                        "Task group %s did not finish within %s s; still running: %s"
                        % (group_href, timeout, ", ".join("%s (%s)" % (t.get("name"), t.get("state")) for t in pending) or "none"),
                        href=group_href, pending=pending,
                    )
            self._poll(deadline, poll_interval, attempt)
            attempt += 1


def backoff_delay(attempt, cap, growth):
    """The pause before poll ``attempt`` (0, 1, ...): 0.1 s, growing by ``growth`` a poll, at most ``cap``.

    The exponent stops growing once the pause reached any cap: ``growth ** attempt`` alone overflows a
    float after some 1,500 polls (1.6 ** 1511), a wait of minutes at a fraction of a second a poll.
    """
    return min(cap, 0.1 * (growth ** min(attempt, 40)))


def _href_chunks(hrefs, batch):
    """Split hrefs for ``pulp_href__in`` filters: at most ``batch`` each and short enough for the
    server's request line (gunicorn refuses lines over 4094 bytes; hrefs grow by a third when
    URL-encoded)."""
    chunk, size = [], 0
    for href in hrefs:
        if chunk and (len(chunk) >= batch or size + len(href) + 1 > MAX_HREF_FILTER_CHARS):
            yield chunk
            chunk, size = [], 0
        chunk.append(href)
        size += len(href) + 1
    if chunk:
        yield chunk


def task_error_text(task):
    """A task's error as one text; an upstream URL with credentials in it (a server's own words) is hidden."""
    error = task.get("error") or {}
    if isinstance(error, dict):
        return hide_userinfo(error.get("description") or error.get("reason") or json.dumps(error)[:500])
    return hide_userinfo(str(error))


# API path -> the model whose permissions guard it ('<app>.<model>' as pulpcore names permissions).
_PERMISSION_MODELS = (
    ("upstream-pulps/", "core.upstreampulp"),
    ("contentguards/core/content_redirect/", "core.contentredirectcontentguard"),
    ("tasks/", "core.task"),
)
_TYPED = re.compile(r"/(distributions|repositories|remotes|publications)/([a-z_]+)/([a-z_]+)/")
_KIND_MODEL = {"distributions": "distribution", "repositories": "repository", "remotes": "remote",
               "publications": "publication"}


def needed_permission(method, path):
    """The pulpcore permission a request needs, e.g. 'core.add_upstreampulp', or None when unknown."""
    model = None
    for marker, name in _PERMISSION_MODELS:
        if "/" + marker in path:
            model = name
            break
    match = _TYPED.search(path)
    if model is None and match:
        # 'file/file' -> file.filedistribution; 'rpm/rpm' -> rpm.rpmrepository
        model = "%s.%s%s" % (match.group(2), match.group(3), _KIND_MODEL[match.group(1)])
    if model is None:
        return None
    app, name = model.split(".")
    tail = path.rstrip("/").rsplit("/", 1)[-1]
    if tail in ("replicate", "set_label", "unset_label"):
        action = "replicate" if tail == "replicate" else "change"
    elif method == "POST":
        action = "add"
    else:
        action = {"GET": "view", "PATCH": "change", "PUT": "change", "DELETE": "delete"}.get(method, "change")
    return "%s.%s_%s" % (app, action, name)


def _path(url):
    parts = urlsplit(url)
    return parts.path


def _short(exc):
    text = str(exc)
    if "certificate verify failed" in text:
        return "certificate verify failed" + text.split("certificate verify failed", 1)[1].split("(_ssl")[0].rstrip(" (")
    # requests' messages repeat the pool and the URL; keep the reason.
    for marker in ("Caused by ", "Failed to establish a new connection: "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return text.strip("()'\" ")[:300]
