# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find, compare, create, update and delete one Pulp object, with before and after.

An entity module describes its object declaratively (``Entity`` + ``Field``) and calls
``ensure()``; check mode runs the very same code with every write skipped, and the
'after' it reports is then the prediction built from 'before' and what the user asked.

Rules kept here once for every module:
- only the options the user gave are compared (``None`` = not given);
- an empty string asks to clear a field (sent as ``null``);
- nothing is PATCHed when nothing differs (a PATCH of an UpstreamPulp makes the next
  replication resync everything);
- write-only fields (passwords, keys, the upstream username) cannot be read back: they
  are sent on create, when the server says they are unset but a value is given (or set
  but an empty value is given), and on every run with ``update_secrets='always'``;
- secret and write-only fields appear in results and diffs only as 'is set' / 'is not set'.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pulpops.replication.plugins.module_utils.server_features import first_release
from ansible_collections.pulpops.replication.plugins.module_utils.client import (
    PulpError,
    PulpNotFound,
    PulpValidationError,
    hide_userinfo,
)
from ansible_collections.pulpops.replication.plugins.module_utils.pulp_types import distribution_paths

SECRET_MARK_SET = "is set"
SECRET_MARK_UNSET = "is not set"
# Shown in a diff when a write-only value is sent again (update_password: always).
SECRET_MARK_REWRITTEN = "is set (rewritten)"


class Reference(object):
    """A field whose value names another object; resolved by name to its href.

    ``endpoint`` is relative to the domain's API base (e.g. 'repositories/file/file/').
    ``resolver`` (optional) is ``resolver(client, value) -> href`` for special syntaxes.
    """

    def __init__(self, kind, endpoint, resolver=None):
        self.kind = kind
        self.endpoint = endpoint
        self.resolver = resolver


class Field(object):
    """One managed API field.

    name: the field's name in the API; option: the module option it comes from
    (defaults to name); write_only: the server never returns the value (it may report it
    in ``hidden_fields``); secret: never shown (write-only fields are never shown either);
    reference: a ``Reference``; min_version: the pulpcore version that knows the field;
    strip: compare with surrounding whitespace ignored (PEM text); spec: the module
    option's argument spec (type, choices, no_log), a plain string option by default.
    """

    def __init__(self, name, option=None, write_only=False, secret=False, reference=None, min_version=None,
                 strip=False, spec=None):
        self.name = name
        self.spec = dict(spec or {"type": "str"})
        self.option = option or name
        self.write_only = write_only
        self.secret = secret or write_only
        self.reference = reference
        self.min_version = min_version
        self.strip = strip


class Entity(object):
    """What ``ensure()`` needs to know about one kind of Pulp object.

    kind: shown in messages ('UpstreamPulp', 'file distribution'); endpoint: list
    endpoint relative to the API base; fields: ``Field`` list (the identity field
    ``name`` included); required_on_create: API names that a create cannot do without;
    create_defaults: values sent on create when the user gave none; unique: API field ->
    list endpoint over which the value must be unique in the domain (e.g. base_path over
    every distribution type); name_taken_hint: added to the error when a create is refused
    because the name is taken where ``ensure()`` cannot see it.
    """

    def __init__(self, kind, endpoint, fields, required_on_create=(), create_defaults=None, unique=None,
                 identity="name", name_taken_hint=None, min_version=None):
        self.kind = kind
        self.min_version = min_version  # the pulpcore that introduced the endpoint
        self.endpoint = endpoint
        self.fields = list(fields)
        self.required_on_create = tuple(required_on_create)
        self.create_defaults = dict(create_defaults or {})
        self.unique = dict(unique or {})
        self.identity = identity
        self.name_taken_hint = name_taken_hint

    def field(self, name):
        for field in self.fields:
            if field.name == name:
                return field
        raise KeyError(name)

    def option_spec(self):
        """The argument spec of the module options that set this entity's fields (the identity aside)."""
        return dict((field.option, dict(field.spec)) for field in self.fields if field.name != self.identity)


# --------------------------------------------------------------------------- helpers
def normalize(field, value):
    """The form two values are compared in: '' equals None; PEM text ignores outer whitespace."""
    if value == "":
        return None
    if field.strip and isinstance(value, str):
        stripped = value.strip()
        return stripped or None
    return value


def hidden_state(obj, name):
    """True/False when the server reports a write-only field in hidden_fields; else None."""
    for item in (obj or {}).get("hidden_fields") or []:
        if item.get("name") == name:
            return bool(item.get("is_set"))
    return None


def is_set(obj, name):
    """Whether a (possibly write-only) field holds a value on the server's object."""
    state = hidden_state(obj, name)
    if state is not None:
        return state
    return bool((obj or {}).get(name))


def redact(entity, obj):
    """A copy of an API object with every secret/write-only field as 'is set'/'is not set'."""
    if obj is None:
        return None
    result = dict((key, hide_userinfo(value)) for key, value in obj.items())  # a base_url with user:password@
    for field in entity.fields:
        if field.secret:
            result[field.name] = SECRET_MARK_SET if is_set(obj, field.name) else SECRET_MARK_UNSET
    result.pop("hidden_fields", None)
    return result


def _with_hidden(obj, name, value_set):
    """Record a write-only field's set/unset state the way the server reports it."""
    hidden = [dict(item) for item in obj.get("hidden_fields") or [] if item.get("name") != name]
    hidden.append({"name": name, "is_set": bool(value_set)})
    obj["hidden_fields"] = hidden


def check_versions(client, entity, wanted):
    """Fail clearly for an option the server's pulpcore does not know yet."""
    for field in entity.fields:
        if field.min_version and wanted.get(field.name) is not None:
            client.require_version(entity.kind, field.min_version, option=field.option)


def resolve_references(client, entity, wanted, label):
    """Replace names of referenced objects by their hrefs; an unknown name is a clear error."""
    resolved = dict(wanted)
    for field in entity.fields:
        value = wanted.get(field.name)
        if field.reference is None or value is None or value == "":
            continue
        ref = field.reference
        if ref.resolver is not None:
            href = ref.resolver(client, value)
        elif value.startswith("/"):
            href = value if client.get(value, allow_404=True) is not None else None
        else:
            found = client.find(ref.endpoint, name=value)
            href = found["pulp_href"] if found and found.get("name") == value else None
        if not href:
            raise PulpError(
                "%s: %s '%s' (option %s) was not found in domain '%s' on %s"
                % (label, ref.kind, value, field.option, client.domain, client.base_url)
            )
        resolved[field.name] = href
    return resolved


def _find(client, endpoint, key, value):
    found = client.find(endpoint, **{key: value})
    if found and found.get(key) == value:
        return found
    return None


def describe(obj):
    """'name' (type) of a distribution-like object from its href, for messages."""
    href = obj.get("pulp_href", "")
    parts = [p for p in href.split("/") if p]
    kind = ""
    if "distributions" in parts:
        idx = parts.index("distributions")
        kind = "/".join(parts[idx + 1:idx + 3])
    return "'%s'%s" % (obj.get("name"), " (%s)" % kind if kind else "")


# ----------------------------------------------------------------------------- ensure
class EnsureContext(object):
    """What ``ensure()`` needs from a module: a client and whether to skip writes."""

    def __init__(self, client, check_mode=False):
        self.client = client
        self.check_mode = check_mode


def ensure(ctx, entity, name, wanted, state="present", match="name", update_secrets="on_create"):
    """Make one object match ``wanted``; return {changed, before, after, diff}.

    ctx: a PulpModule (``.client``, ``.check_mode``) or an ``EnsureContext``.
    wanted: API field -> value for the options the user gave (None = not given,
    '' = clear; references by name or href). match: the API field that identifies the
    object ('name', or e.g. 'base_path': an object found there under another name is
    renamed in place). before/after are redacted API objects (None when absent);
    diff holds only the managed fields. Raises PulpError for every expected failure,
    before any write.
    """
    client = ctx.client
    check_mode = bool(getattr(ctx, "check_mode", False))
    label = "%s '%s'" % (entity.kind, name)
    wanted = dict((k, v) for k, v in wanted.items() if v is not None)
    wanted[entity.identity] = name

    if entity.min_version:
        client.require_version(entity.kind, entity.min_version)
    existing = _locate(client, entity, name, wanted, state, match, label)

    if state == "absent":
        if existing is None:
            return _result(entity, False, None, None, [], {})
        if not check_mode:
            client.task_result(client.delete(existing["pulp_href"]))
        return _result(entity, True, existing, None, _managed(entity, wanted), {})

    check_versions(client, entity, wanted)
    resolved = resolve_references(client, entity, wanted, label)
    _check_unique(client, entity, resolved, existing, label)

    if existing is None:
        missing = [f for f in entity.required_on_create if resolved.get(f) in (None, "") and f not in entity.create_defaults]
        if missing:
            options = ", ".join(entity.field(f).option for f in missing)
            raise PulpError("%s does not exist; creating it needs %s" % (label, options))
        body = dict(entity.create_defaults)
        body.update(resolved)
        body = dict((k, (None if v == "" else v)) for k, v in body.items())
        predicted = _predict(entity, {}, body)
        after = predicted
        if not check_mode:
            try:
                after = _created(client, client.post(entity.endpoint, body))
            except PulpValidationError as exc:
                if entity.identity in exc.fields and entity.name_taken_hint:
                    raise PulpError("%s cannot be created in domain '%s': %s (%s)"
                                    % (label, client.domain, exc.message, entity.name_taken_hint))
                raise
        return _result(entity, True, None, after, _managed(entity, wanted), {})

    changes = _differences(entity, existing, resolved, update_secrets)
    if not changes:
        return _result(entity, False, existing, existing, _managed(entity, wanted), {})
    body = dict((k, (None if v == "" else v)) for k, v in changes.items())
    after = _predict(entity, existing, body)
    if not check_mode:
        answer = client.task_result(client.patch(existing["pulp_href"], body))
        if isinstance(answer, dict) and answer.get("pulp_href") == existing["pulp_href"]:
            after = answer
        else:  # a task: read the object as it is now
            after = client.get(existing["pulp_href"])
    # A value replaced by another one that cannot be shown: mark it, or the diff would show no change.
    rewritten = [f.name for f in entity.fields
                 if f.write_only and body.get(f.name) is not None and is_set(existing, f.name)]
    return _result(entity, True, existing, after, _managed(entity, wanted), {"rewritten": rewritten})


def _locate(client, entity, name, wanted, state, match, label):
    """The existing object: by name, or by ``match`` first (then a rename is planned)."""
    if match == entity.identity:
        return _find(client, entity.endpoint, entity.identity, name)
    key_value = wanted.get(match)
    if key_value in (None, ""):
        raise PulpError("%s: match=%s needs option %s" % (label, match, entity.field(match).option))
    found = _find(client, entity.endpoint, match, key_value)
    by_name = _find(client, entity.endpoint, entity.identity, name)
    if found is None:
        return by_name
    if state == "present" and by_name is not None and by_name["pulp_href"] != found["pulp_href"]:
        raise PulpError(
            "%s: cannot rename the %s at %s '%s' (now %s) to '%s': that name is taken by the one at %s '%s'"
            % (label, entity.kind, match, key_value, describe(found), name, match, by_name.get(match))
        )
    return found


def _check_unique(client, entity, resolved, existing, label):
    """A value that must be unique in the domain and is held by another object is an error."""
    for key, endpoint in entity.unique.items():
        value = resolved.get(key)
        if value in (None, ""):
            continue
        if existing is not None and existing.get(key) == value:
            continue
        holder = _find(client, endpoint, key, value)
        if holder is not None and (existing is None or holder.get("pulp_href") != existing.get("pulp_href")):
            raise PulpError(
                "%s: %s '%s' is already taken by distribution %s in domain '%s'"
                % (label, entity.field(key).option, value, describe(holder), client.domain)
            )


def _differences(entity, existing, resolved, update_secrets):
    """API field -> wanted value for every given field that differs from the server's."""
    changes = {}
    for field in entity.fields:
        if field.name not in resolved:
            continue
        value = resolved[field.name]
        if field.write_only:
            given = normalize(field, value) is not None
            if update_secrets == "always" or given != is_set(existing, field.name):
                changes[field.name] = value
            continue
        if normalize(field, existing.get(field.name)) != normalize(field, value):
            changes[field.name] = value
    return changes


def _predict(entity, before, body):
    """The object as the server should show it after ``body`` is written to ``before``."""
    after = dict(before)
    for key, value in body.items():
        field = None
        try:
            field = entity.field(key)
        except KeyError:
            pass
        if field is not None and field.write_only:
            _with_hidden(after, key, value not in (None, ""))
        else:
            after[key] = value
    return after


def _created(client, answer):
    """The created object: the body of a synchronous create, or read after the task."""
    if isinstance(answer, dict) and set(answer.keys()) == {"task"}:
        task = client.wait_task(answer["task"])
        for href in task.get("created_resources") or []:
            if href:
                try:
                    return client.get(href)
                except PulpNotFound:  # pragma: no cover - deleted right after creation
                    break
        raise PulpError("The create task %s reported no created object" % answer["task"])
    return answer


def _managed(entity, wanted):
    return [f.name for f in entity.fields if f.name in wanted]


def _project(entity, obj, names, rewritten=()):
    if obj is None:
        return {}
    shown = redact(entity, obj)
    result = {}
    for name in names:
        if name in rewritten and is_set(obj, name):
            result[name] = SECRET_MARK_REWRITTEN
        else:
            result[name] = shown.get(name)
    return result


def _result(entity, changed, before, after, managed, extra):
    rewritten = extra.get("rewritten", ())
    return {
        "changed": changed,
        "before": redact(entity, before),
        "after": redact(entity, after),
        "diff": {
            "before": _project(entity, before, managed),
            "after": _project(entity, after, managed, rewritten),
        },
    }


# ------------------------------------------------------------------ the entities we manage
# The pulpcore releases that introduced UpstreamPulp and its fields: server_features.FEATURES.
UPSTREAM_PULP_VERSION = first_release("upstream_pulp")
Q_SELECT_VERSION = first_release("upstream_q_select")
POLICY_VERSION = first_release("replication")
NETWORK_FIELDS_VERSION = first_release("network_fields")

UPSTREAM_PULP = Entity(
    kind="UpstreamPulp",
    endpoint="upstream-pulps/",
    fields=[
        Field("name"),
        Field("base_url"),
        Field("api_root"),
        Field("domain"),
        Field("username", option="upstream_username", write_only=True),
        Field("password", option="upstream_password", write_only=True, spec=dict(type="str", no_log=True)),
        Field("ca_cert", option="upstream_ca_cert", strip=True),
        Field("client_cert", option="upstream_client_cert", strip=True),
        Field("client_key", option="upstream_client_key", write_only=True, spec=dict(type="str", no_log=True)),
        Field("tls_validation", spec=dict(type="bool")),
        Field("policy", min_version=POLICY_VERSION, spec=dict(type="str", choices=["all", "labeled", "nodelete"])),
        Field("q_select", min_version=Q_SELECT_VERSION),
        Field("download_concurrency", min_version=NETWORK_FIELDS_VERSION, spec=dict(type="int")),
        Field("max_retries", min_version=NETWORK_FIELDS_VERSION, spec=dict(type="int")),
        Field("total_timeout", min_version=NETWORK_FIELDS_VERSION, spec=dict(type="float")),
        Field("connect_timeout", min_version=NETWORK_FIELDS_VERSION, spec=dict(type="float")),
        Field("sock_connect_timeout", min_version=NETWORK_FIELDS_VERSION, spec=dict(type="float")),
        Field("sock_read_timeout", min_version=NETWORK_FIELDS_VERSION, spec=dict(type="float")),
    ],
    required_on_create=("base_url", "api_root"),
    create_defaults={"api_root": "/pulp/"},
    # pulpcore validates UpstreamPulp names against every domain, though the table allows one per domain.
    name_taken_hint="UpstreamPulp names are unique across all domains of the server; pick another name",
    min_version=UPSTREAM_PULP_VERSION,
)


def _repository_version_resolver(repositories_endpoint):
    """'<repository name>/<number>' or an href -> the repository version's href."""

    def resolve(client, value):
        if value.startswith("/"):
            return value if client.get(value, allow_404=True) is not None else None
        name, sep, number = value.rpartition("/")
        if not sep or not number.isdigit() or not name:
            raise PulpError(
                "repository_version '%s' is neither an href nor '<repository name>/<version number>'" % value
            )
        repo = _find(client, repositories_endpoint, "name", name)
        if repo is None:
            return None
        href = "%s%s/" % (repo["versions_href"], int(number))
        return href if client.get(href, allow_404=True) is not None else None

    return resolve


def distribution_entity(client, dist_type):
    """The Entity of one distribution type; a type the server lacks is a clear error."""
    dist_ep, repo_ep, pub_ep = distribution_paths(dist_type)
    try:
        client.get(dist_ep, params={"limit": 1})
    except PulpNotFound:
        plugins = ", ".join(sorted(client.versions()))
        raise PulpError(
            "option 'type': the server at %s has no '%s' distributions (%s answers 404: its pulp_%s plugin is not "
            "installed); its plugins: %s" % (client.base_url, dist_type, dist_ep, dist_type.split("/")[0], plugins)
        )
    return Entity(
        kind="%s distribution" % dist_type,
        endpoint=dist_ep,
        fields=[
            Field("name"),
            Field("base_path"),
            Field("repository", reference=Reference("repository", repo_ep)),
            Field("repository_version", reference=Reference(
                "repository version", repo_ep, resolver=_repository_version_resolver(repo_ep))),
            Field("publication", reference=Reference("publication", pub_ep or "publications/")),
            Field("content_guard", reference=Reference("content guard", "contentguards/")),
            Field("pulp_labels"),
        ],
        required_on_create=("base_path",),
        unique={"base_path": "distributions/"},
    )
