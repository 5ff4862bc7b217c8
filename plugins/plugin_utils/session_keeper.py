# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Pulp sessions of one ansible-playbook run, kept in memory by a small process of their own.

Every task of a play runs in a process of its own, so a session one task logs in to is
lost when that task ends, and the next task pays another login: a password hash on the
server (about half a second of server CPU with Django's default hasher). The collection's
action plugins run its modules inside the controller; their clients file each session they
log in to with the keeper of the run, and later tasks of the same run reuse it.

- The keeper is started by the first task that needs it (``store_for_run``) and serves a
  Unix socket in a directory only this user can enter (mode 0700, checked before use); it
  accepts connections from processes of the same user only (the socket's peer credentials).
- Beside the sessions it keeps each server's status (public: its versions, whether it has domains),
  read once per run instead of once per task.
- Sessions live in the keeper's memory only: nothing about them is written to disk, printed,
  logged or returned in a task result. A session is filed under a digest of the server,
  the user, the password and the trust settings, so another password never gets it.
- The keeper watches the ansible-playbook process that started it (a pidfd where Linux has
  one, else a look every second). When that process is gone (the run ended, failed or was
  killed), or after ``IDLE_SECONDS`` without a request, it logs every session out
  (``DELETE .../login/``) and exits; ``end`` does that at once.
- A task that finds its session refused (expired, logged out, sessions cleared on the
  server) drops it here and logs in again (client.PulpClient).

This file runs as that process (``python session_keeper.py --socket PATH --run-pid PID``)
and holds what the action plugins use to reach it; it needs the standard library only (and
requests to log out), so it never imports Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import fcntl
import json
import os
import select
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time

IDLE_SECONDS = 6 * 3600
WATCH_SECONDS = 1.0
SPAWN_WAIT_SECONDS = 10.0
ANSWER_TIMEOUT = 5.0
MAX_MESSAGE = 1 << 20


class KeeperUnavailable(Exception):
    """No keeper can be used here: each client logs in for itself."""


# ------------------------------------------------------------------ places
def keeper_dir(base=None):
    """The directory of this user's keepers: created private, refused unless it is private and ours."""
    path = os.path.join(base or tempfile.gettempdir(), "pulpops-replication-%d" % os.getuid())
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise KeeperUnavailable("cannot create %s: %s" % (path, exc))
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise KeeperUnavailable("%s is not a private directory of this user" % path)
    return path


def socket_path(run_pid, base=None):
    return os.path.join(keeper_dir(base), "sessions-%d.sock" % run_pid)


def process_start(pid, proc="/proc"):
    """The start time of process ``pid`` (clock ticks since boot, from /proc), or None where unknown."""
    try:
        with open(os.path.join(proc, str(pid), "stat"), "rb") as handle:
            return handle.read().decode("utf-8", "replace").rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def process_alive(pid, start=None):
    """Whether ``pid`` still runs and is the process that started at ``start`` (not a reused pid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return start is None or process_start(pid) in (None, start)


def watch_process(pid):
    """A file descriptor that becomes readable when process ``pid`` ends (a pidfd), or None where the
    system has none: the keeper then looks every WATCH_SECONDS."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


# ------------------------------------------------------------ client side
class SessionStore(object):
    """The client's side of a keeper: get, put and drop sessions by key (client.use_session_store)."""

    def __init__(self, path):
        self.path = path

    def ask(self, message):
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(ANSWER_TIMEOUT)
        try:
            conn.connect(self.path)
            conn.sendall(json.dumps(message).encode("utf-8") + b"\n")
            return json.loads(read_line(conn) or "{}")
        finally:
            conn.close()

    def alive(self):
        try:
            return self.ask({"op": "ping"}).get("ok") is True
        except (OSError, ValueError):
            return False

    def get(self, key):
        return self.ask({"op": "get", "key": key}).get("cookies")

    def put(self, key, cookies, logout):
        self.ask({"op": "put", "key": key, "cookies": cookies, "logout": logout})

    def drop(self, key):
        self.ask({"op": "drop", "key": key})

    def note(self, key, value):
        """Keep a public fact of the run (a server's status), not a secret."""
        self.ask({"op": "note", "key": key, "value": value})

    def recall(self, key):
        return self.ask({"op": "recall", "key": key}).get("value")

    def stats(self):
        """{'sessions': N, 'logins': N, 'reused': N, 'dropped': N}: counts only, never a session."""
        return self.ask({"op": "stats"})

    def end(self):
        """Log every session out and stop the keeper."""
        return self.ask({"op": "end"})


def read_line(conn):
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_MESSAGE:
            raise ValueError("message too long")
    return data.decode("utf-8")


def store_for_run(run_pid, python=None, base=None):
    """The session store of the run ``run_pid``: its keeper, started now if it does not run yet.

    Raises KeeperUnavailable where none can be had (no private directory, the keeper did not start).
    """
    path = socket_path(run_pid, base)
    store = SessionStore(path)
    if store.alive():
        return store
    with open(path + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one start at a time; the others find it running
        if store.alive():
            return store
        if os.path.lexists(path):
            os.unlink(path)  # a keeper that died
        start = process_start(run_pid) or ""
        subprocess.Popen(  # pylint: disable=consider-using-with  # it outlives this task on purpose
            [python or sys.executable, os.path.abspath(__file__.replace(".pyc", ".py")), "--socket", path,
             "--run-pid", str(run_pid), "--run-start", start],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            close_fds=True, start_new_session=True, cwd="/")
        deadline = time.monotonic() + SPAWN_WAIT_SECONDS
        while time.monotonic() < deadline:
            if store.alive():
                return store
            time.sleep(0.01)
    raise KeeperUnavailable("the session keeper did not start")


# ------------------------------------------------------------ keeper side
def peer_uid(conn):
    """The uid of the process at the other end of a Unix socket (None where the system does not say)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i")))
    return uid


class Keeper(object):
    """The keeper process: answers get/put/drop/stats/end, logs everything out when the run is over."""

    def __init__(self, path, run_pid, run_start=None, idle=IDLE_SECONDS, logout=None):
        self.path = path
        self.run_pid = run_pid
        self.run_start = run_start or None
        self.idle = idle
        self.sessions = {}  # key -> {"cookies": [...], "logout": {...}}
        self.facts = {}  # public facts of the run, e.g. "status <url>" -> a server's status
        self.replaced = []  # sessions filed over by a newer one (parallel first logins): logged out at the end
        self.counts = {"logins": 0, "reused": 0, "dropped": 0}
        self.logout = logout or logout_session
        self.ending = False

    def answer(self, message):
        op = message.get("op")
        key = message.get("key")
        if op == "ping":
            return {"ok": True}
        if op == "get":
            entry = self.sessions.get(key)
            if entry is None:
                return {"cookies": None}
            self.counts["reused"] += 1
            return {"cookies": entry["cookies"]}
        if op == "put":
            if key in self.sessions:
                self.replaced.append(self.sessions[key])
            self.sessions[key] = {"cookies": message.get("cookies") or [], "logout": message.get("logout") or {}}
            self.counts["logins"] += 1
            return {"ok": True}
        if op == "drop":
            if self.sessions.pop(key, None) is not None:
                self.counts["dropped"] += 1
            return {"ok": True}
        if op == "note":
            self.facts[key] = message.get("value")
            return {"ok": True}
        if op == "recall":
            return {"value": self.facts.get(key)}
        if op == "stats":
            return dict(self.counts, sessions=len(self.sessions))
        if op == "end":
            self.ending = True
            return dict(self.counts, sessions=len(self.sessions), ended=True)
        return {"error": "unknown op %r" % (op,)}

    def run_over(self, last_request):
        return not process_alive(self.run_pid, self.run_start) or time.monotonic() - last_request > self.idle

    def serve(self):
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        mask = os.umask(0o177)
        try:
            listener.bind(self.path)  # raises when another keeper of this run was quicker: that one serves
        except OSError:
            listener.close()
            raise
        finally:
            os.umask(mask)
        listener.listen(64)
        run_ended = watch_process(self.run_pid)  # readable the moment the run's process ends (Linux)
        last_request = last_watch = time.monotonic()
        try:
            while not self.ending:
                if time.monotonic() - last_watch >= WATCH_SECONDS:
                    last_watch = time.monotonic()
                    if self.run_over(last_request):
                        break
                ready = select.select([listener] + ([run_ended] if run_ended is not None else []), [], [],
                                      WATCH_SECONDS)[0]
                if run_ended is not None and run_ended in ready:
                    break
                if listener in ready:
                    conn, _unused = listener.accept()
                    last_request = time.monotonic()
                    self.handle(conn)
        finally:
            for leftover in (self.path, self.path + ".lock"):
                try:
                    os.unlink(leftover)
                except OSError:
                    pass
            listener.close()
            if run_ended is not None:
                os.close(run_ended)
            self.log_out_all()

    def handle(self, conn):
        try:
            conn.settimeout(ANSWER_TIMEOUT)
            if peer_uid(conn) not in (None, os.getuid()):
                return
            answer = self.answer(json.loads(read_line(conn) or "{}"))
            conn.sendall(json.dumps(answer).encode("utf-8") + b"\n")
        except (OSError, ValueError):
            pass
        finally:
            conn.close()

    def log_out_all(self):
        for entry in list(self.sessions.values()) + self.replaced:
            try:
                self.logout(entry["cookies"], entry["logout"])
            except Exception:  # pylint: disable=broad-except  # the server expires it on its own
                pass
        self.sessions, self.replaced = {}, []


def logout_session(cookies, logout):
    """DELETE .../login/ with the session's cookies, the CSRF token and the client's trust."""
    import requests  # pylint: disable=import-outside-toplevel  # only the keeper logs out

    values = dict((c["name"], c["value"]) for c in cookies)
    if not logout.get("url") or "sessionid" not in values:
        return
    verify, ca_file = bool(logout.get("validate_certs", True)), None
    ca_cert = logout.get("ca_cert")
    try:
        if verify and ca_cert and "-----BEGIN" in ca_cert:
            handle, ca_file = tempfile.mkstemp(prefix="pulpops-ca-", suffix=".pem")  # a CA is public
            with os.fdopen(handle, "w") as out:
                out.write(ca_cert)
            verify = ca_file
        elif verify and ca_cert:
            verify = os.path.expanduser(ca_cert)
        cert = logout.get("client_cert")
        if cert and logout.get("client_key"):
            cert = (cert, logout["client_key"])
        headers = {"Cookie": "; ".join("%s=%s" % item for item in sorted(values.items())),
                   "X-CSRFToken": values.get("csrftoken", ""), "Referer": logout.get("referer", "")}
        requests.delete(logout["url"], headers=headers, verify=verify, cert=cert or None,
                        timeout=logout.get("timeout") or 10)
    finally:
        if ca_file:
            os.unlink(ca_file)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Keep the Pulp sessions of one ansible-playbook run.")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--run-pid", type=int, required=True)
    parser.add_argument("--run-start", default="")
    parser.add_argument("--idle", type=float, default=IDLE_SECONDS)
    args = parser.parse_args(argv)
    try:
        Keeper(args.socket, args.run_pid, args.run_start, idle=args.idle).serve()
    except OSError:
        return 1  # another keeper of this run serves the socket
    return 0


if __name__ == "__main__":
    sys.exit(main())
