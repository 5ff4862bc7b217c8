"""Where the bench scripts keep their raw output: bench/results/ (ignored by git).

``keep(__file__)`` at the start of a script copies everything the script prints on its
standard output into ``bench/results/<script>-<UTC time>.txt``, after a first line with the
command that ran; the output on the terminal is unchanged. The file's path is printed on
standard error at the end.
"""

import atexit
import os
import shlex
import sys
import time

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


class _Tee:
    """A text stream that writes to the terminal's stream and to a file."""

    def __init__(self, stream, copy):
        self._stream = stream
        self._copy = copy

    def write(self, text):
        self._copy.write(text)
        return self._stream.write(text)

    def flush(self):
        self._copy.flush()
        self._stream.flush()

    def __getattr__(self, name):
        return getattr(self._stream, name)


def keep(script):
    """Copy this process's standard output into bench/results/; return the file's path."""
    os.makedirs(RESULTS, exist_ok=True)
    name = os.path.splitext(os.path.basename(script))[0]
    path = os.path.join(RESULTS, "%s-%s.txt" % (name, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())))
    copy = open(path, "w")
    copy.write("$ %s\n" % " ".join(shlex.quote(arg) for arg in [os.path.relpath(script)] + sys.argv[1:]))
    original = sys.stdout
    sys.stdout = _Tee(original, copy)

    def close():
        sys.stdout.flush()
        sys.stdout = original
        copy.close()
        sys.stderr.write("raw output: %s\n" % os.path.relpath(path))

    atexit.register(close)
    return path
