# Sourced by scripts/test and scripts/demo: the repository's paths and its tool venv.
# shellcheck shell=bash

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$REPO/.venv"
PY="$VENV/bin/python"
COLLECTIONS="$REPO/.cache/collections"
PULPLAB=("$PY" "$REPO/tests/lab/pulplab")

# The ansible-core lines besides the default one (2.19 in .venv), each with the Python of its venv.
# requirements/constraints.txt pins each line's ansible-core by python_version; setup_line_venv
# checks that the two agree.
LINES=(2.20 2.21)
declare -A LINE_PYTHON=([2.20]=3.12 [2.21]=3.13)

say() { printf '\n==> %s\n' "$*"; }

# Create .venv (python3.11) if missing and install requirements/test.txt with the pins of
# requirements/constraints.txt whenever either file changed; put the venv's tools first on PATH
# and make this checkout visible to Ansible as pulpops.replication.
setup_venv() {
    if [ ! -x "$PY" ]; then
        say "creating $VENV"
        python3.11 -m venv "$VENV" || return 1
    fi
    local stamp="$VENV/.requirements-test.sha256" wanted
    wanted="$(cat "$REPO/requirements/test.txt" "$REPO/requirements/constraints.txt" | sha256sum | cut -d' ' -f1)"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
        say "installing requirements/test.txt (pins: requirements/constraints.txt)"
        "$PY" -m pip install -q --disable-pip-version-check --progress-bar off \
            -r "$REPO/requirements/test.txt" -c "$REPO/requirements/constraints.txt" || return 1
        echo "$wanted" > "$stamp"
    fi
    export PATH="$VENV/bin:$PATH"
    local link="$COLLECTIONS/ansible_collections/pulpops/replication"
    if [ ! -L "$link" ]; then
        mkdir -p "$(dirname "$link")"
        ln -sfn "$REPO" "$link"
    fi
    export ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS"
}

# A working pythonX.Y: on PATH, else from pyenv's versions (its shims fail for a version that is
# installed but not selected).
find_python() {
    local version="$1" candidate
    for candidate in "python$version" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version".*/bin/"python$version"; do
        if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c '' >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    echo "no working python$version on PATH or under ${PYENV_ROOT:-$HOME/.pyenv}/versions" >&2
    return 1
}

# The venv of an ansible-core line: venv-py<python> under $PULPOPS_VENV_CACHE (default
# ~/.cache/pulpops-replication), outside the checkout, so a clean clone on the same machine reuses it
# (its requirements stamp decides when it is brought up to date).
line_venv() {
    echo "${PULPOPS_VENV_CACHE:-$HOME/.cache/pulpops-replication}/venv-py${LINE_PYTHON[$1]}"
}

# Create the venv of ansible-core line $1 if missing and install requirements/controller-lines.txt
# (what the unit tests and ansible-test sanity need, nothing more) with the pins of
# requirements/constraints.txt whenever either file changed.
setup_line_venv() {
    local line="$1" python="${LINE_PYTHON[$1]:-}" venv base stamp wanted installed
    if [ -z "$python" ]; then
        echo "setup_line_venv: unknown ansible-core line '$line' (lines: ${LINES[*]})" >&2
        return 1
    fi
    venv="$(line_venv "$line")"
    if [ ! -x "$venv/bin/python" ]; then
        base="$(find_python "$python")" || return 1
        say "creating $venv ($base)"
        "$base" -m venv "$venv" || return 1
    fi
    stamp="$venv/.requirements-controller-lines.sha256"
    wanted="$(cat "$REPO/requirements/controller-lines.txt" "$REPO/requirements/constraints.txt" | sha256sum | cut -d' ' -f1)"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
        say "installing requirements/controller-lines.txt in $venv (pins: requirements/constraints.txt)"
        "$venv/bin/python" -m pip install -q --disable-pip-version-check --progress-bar off \
            -r "$REPO/requirements/controller-lines.txt" -c "$REPO/requirements/constraints.txt" || return 1
        installed="$("$venv/bin/python" -c 'from ansible.release import __version__; print(__version__)')" || return 1
        if [ "${installed#"$line".}" = "$installed" ]; then
            echo "setup_line_venv: requirements/constraints.txt gives Python $python ansible-core $installed, not $line" >&2
            return 1
        fi
        echo "$wanted" > "$stamp"
    fi
}
