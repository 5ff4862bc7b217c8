"""The session keeper: its answers, its directory, and a real keeper process serving a real socket.

The logout goes to a small HTTP server on loopback that records what it was sent; no Pulp.
"""

import http.server
import os
import stat
import subprocess
import threading
import time

import pytest

from ansible_collections.pulpops.replication.plugins.plugin_utils.session_keeper import (
    Keeper,
    KeeperUnavailable,
    SessionStore,
    keeper_dir,
    process_alive,
    socket_path,
    store_for_run,
)

COOKIES = [{"name": "sessionid", "value": "sess-1", "domain": "pulp.example.com", "path": "/", "secure": False},
           {"name": "csrftoken", "value": "csrf-1", "domain": "pulp.example.com", "path": "/", "secure": False}]


def test_the_keeper_files_reuses_drops_and_counts_sessions():
    logged_out = []
    keeper = Keeper("/nonexistent", run_pid=os.getpid(), logout=lambda cookies, logout: logged_out.append(cookies))

    assert keeper.answer({"op": "get", "key": "k"}) == {"cookies": None}
    keeper.answer({"op": "put", "key": "k", "cookies": COOKIES, "logout": {"url": "u"}})
    assert keeper.answer({"op": "get", "key": "k"}) == {"cookies": COOKIES}
    keeper.answer({"op": "put", "key": "k", "cookies": [dict(COOKIES[0], value="sess-2")], "logout": {}})
    keeper.answer({"op": "put", "key": "other", "cookies": COOKIES, "logout": {}})
    keeper.answer({"op": "drop", "key": "other"})

    keeper.answer({"op": "note", "key": "status http://pulp/", "value": {"versions": []}})
    assert keeper.answer({"op": "recall", "key": "status http://pulp/"}) == {"value": {"versions": []}}
    assert keeper.answer({"op": "recall", "key": "status http://other/"}) == {"value": None}
    assert keeper.answer({"op": "stats"}) == {"logins": 3, "reused": 1, "dropped": 1, "sessions": 1}
    assert "error" in keeper.answer({"op": "list"})
    keeper.log_out_all()
    # The live session and the one it replaced (two first logins at once) are both logged out; not the dropped one.
    assert sorted(c[0]["value"] for c in logged_out) == ["sess-1", "sess-2"]


def test_the_directory_must_be_private_and_ours(tmp_path):
    path = keeper_dir(str(tmp_path))
    assert stat.S_IMODE(os.lstat(path).st_mode) == 0o700
    os.chmod(path, 0o755)
    with pytest.raises(KeeperUnavailable):
        keeper_dir(str(tmp_path))


class Recorder(http.server.BaseHTTPRequestHandler):
    seen = []

    def do_DELETE(self):  # noqa: N802 - the handler's API
        Recorder.seen.append({"path": self.path, "cookie": self.headers.get("Cookie"),
                              "csrf": self.headers.get("X-CSRFToken")})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def wait_for(condition, timeout=10):
    deadline = time.time() + timeout
    while not condition() and time.time() < deadline:
        time.sleep(0.05)


@pytest.fixture
def logout_server():
    server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Recorder.seen = []
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()


def test_a_keeper_process_serves_the_run_then_logs_out_and_exits_when_the_run_ends(tmp_path, logout_server):
    run = subprocess.Popen(["sleep", "60"])  # stands in for the ansible-playbook process
    try:
        store = store_for_run(run.pid, base=str(tmp_path))
        again = store_for_run(run.pid, base=str(tmp_path))  # the second task finds it running
        assert again.path == store.path == socket_path(run.pid, str(tmp_path))
        assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600

        store.put("k", COOKIES, {"url": logout_server + "/pulp/api/v3/login/", "referer": logout_server + "/",
                                 "validate_certs": True})
        assert again.get("k") == COOKIES
        assert again.stats() == {"logins": 1, "reused": 1, "dropped": 0, "sessions": 1}
    finally:
        run.kill()
        run.wait()
    wait_for(lambda: Recorder.seen)
    assert not os.path.exists(store.path) and not os.path.exists(store.path + ".lock") and not store.alive()
    assert Recorder.seen == [{"path": "/pulp/api/v3/login/", "cookie": "csrftoken=csrf-1; sessionid=sess-1",
                              "csrf": "csrf-1"}]


def test_end_logs_out_at_once(tmp_path, logout_server):
    store = store_for_run(os.getpid(), base=str(tmp_path))
    store.put("k", COOKIES, {"url": logout_server + "/login/", "validate_certs": True})
    assert store.end()["ended"] is True
    wait_for(lambda: Recorder.seen)
    assert not store.alive() and [s["path"] for s in Recorder.seen] == ["/login/"]


def test_a_pid_that_was_reused_is_not_the_run():
    assert process_alive(os.getpid()) is True
    assert process_alive(os.getpid(), start="not-its-start") is False
    assert SessionStore("/nonexistent/socket").alive() is False
