"""A JSON document kept in a content guard: the home of the domain lock and of the replication record.

Each test reads as a rule the lock and the record rely on, against the in-memory guard API of
the lock's tests (names unique in the domain, as the server keeps them).
"""

import pytest

from ansible_collections.pulpops.replication.plugins.module_utils.client import PulpValidationError
from ansible_collections.pulpops.replication.plugins.module_utils.guard_document import (
    GuardDocument,
    encode,
    parse_document,
)
from ansible_collections.pulpops.replication.plugins.module_utils.record import (
    RECORD_KIND,
    read_record,
    record_name,
    write_record,
)
from tests.unit.test_lock import FakeClient, FakeServer

KIND = "pulpops.replication/test-document"


def document(server, name="doc", **kwargs):
    return GuardDocument(FakeClient(server), name, KIND, **kwargs)


def test_a_name_nobody_holds_reads_as_no_guard_and_no_document():
    assert document(FakeServer()).read() == (None, None)


def test_of_two_creates_of_one_name_exactly_one_gets_the_guard():
    server = FakeServer()
    first = document(server).create({"kind": KIND, "n": 1})
    second = document(server).create({"kind": KIND, "n": 2})
    assert first is not None and second is None
    guard, found = document(server).read()
    assert guard["pulp_href"] == first["pulp_href"] and found == {"kind": KIND, "n": 1}


def test_a_refusal_other_than_a_taken_name_is_raised():
    class Refusing(FakeClient):
        def post(self, path, body=None):
            raise PulpValidationError("refused", status=400, fields={"description": ["too long"]})

    with pytest.raises(PulpValidationError):
        GuardDocument(Refusing(FakeServer()), "doc", KIND).create({"kind": KIND})


def test_a_guard_holding_anything_else_is_foreign_never_a_document():
    server = FakeServer()
    FakeClient(server).post("contentguards/core/content_redirect/", {"name": "doc", "description": "made by hand"})
    guard, found = document(server).read()
    assert guard is not None and found is None
    assert parse_document('{"kind": "someone/else"}', KIND) is None
    assert parse_document("[1, 2]", KIND) is None
    assert parse_document(None, KIND) is None


def test_a_document_of_another_version_or_shape_is_not_read():
    assert parse_document(encode({"kind": KIND, "version": 2}), KIND, version=1) is None
    assert parse_document(encode({"kind": KIND, "version": 1}), KIND, version=1) == {"kind": KIND, "version": 1}
    assert parse_document(encode({"kind": KIND}), KIND, valid=lambda d: "body" in d) is None


def test_replace_rewrites_the_same_guard_and_delete_removes_it_by_its_own_href():
    server = FakeServer()
    doc = document(server)
    guard = doc.create({"kind": KIND, "n": 1})
    replaced = doc.replace(guard, {"kind": KIND, "n": 2})
    assert replaced["pulp_href"] == guard["pulp_href"] and doc.read()[1] == {"kind": KIND, "n": 2}
    doc.delete(guard)
    doc.delete(guard)  # a second delete of a gone guard is no error
    assert doc.read() == (None, None) and server.deletes == [guard["pulp_href"]] * 2


def test_the_encoding_is_stable():
    assert encode({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'


def test_the_record_is_written_once_then_replaced_in_its_own_guard():
    server = FakeServer()
    client = FakeClient(server)
    record = {"kind": RECORD_KIND, "version": 1, "distributions": {"a": ["x", "y"]}}
    created = write_record(client, "pk1", record)
    write_record(client, "pk1", dict(record, distributions={"a": ["x", "z"]}))
    guard, found = read_record(client, "pk1")
    assert guard["pulp_href"] == created["pulp_href"] and guard["name"] == record_name("pk1")
    assert found["distributions"] == {"a": ["x", "z"]}
    assert len(server.guards) == 1


def test_a_record_is_never_written_over_a_guard_that_holds_something_else():
    server = FakeServer()
    client = FakeClient(server)
    client.post("contentguards/core/content_redirect/", {"name": record_name("pk1"), "description": "mine"})
    with pytest.raises(Exception, match="holds no record"):
        write_record(client, "pk1", {"kind": RECORD_KIND, "version": 1, "distributions": {}})
    assert [g["description"] for g in server.guards.values()] == ["mine"]
