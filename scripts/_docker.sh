# Sourced by scripts/test: makes Docker available for the pytest plugin's container tests
# (tests/test_container.py). Installs docker.io and debootstrap with apt-get (through sudo when
# not root) if they are missing, starts dockerd if no daemon answers, and builds the local
# Neo4j image once (scripts/neo4j image; a no-op when it is up to date). Defines
# _graph_ckpt_stop_docker, which stops dockerd again if this script started it.
# When Docker cannot be had, GRAPH_CKPT_NO_DOCKER_REASON says why and those tests are
# skipped with it; everything else runs as before. GRAPH_CKPT_NO_DOCKER=1 leaves Docker alone.
_graph_ckpt_dockerd_pid=""
_graph_ckpt_sudo=()
if [ "$(id -u)" -ne 0 ]; then
    _graph_ckpt_sudo=(sudo -n)
fi

_graph_ckpt_no_docker() {
    echo "note: no Docker for the container tests: $1" >&2
    export GRAPH_CKPT_NO_DOCKER_REASON="$1"
}

_graph_ckpt_docker_answers() {
    docker info >/dev/null 2>&1
}

_graph_ckpt_stop_docker() {
    if [ -n "$_graph_ckpt_dockerd_pid" ]; then
        "${_graph_ckpt_sudo[@]}" kill "$_graph_ckpt_dockerd_pid" 2>/dev/null || true
        # dockerd stops its containerd before it exits: once it is gone, both are.
        for _ in $(seq 60); do
            "${_graph_ckpt_sudo[@]}" kill -0 "$_graph_ckpt_dockerd_pid" 2>/dev/null || break
            sleep 0.5
        done
        echo "dockerd stopped (pid $_graph_ckpt_dockerd_pid)" >&2
        _graph_ckpt_dockerd_pid=""
    fi
}

_graph_ckpt_start_docker() {
    local packages=()
    command -v dockerd >/dev/null 2>&1 || packages+=(docker.io)
    command -v debootstrap >/dev/null 2>&1 || packages+=(debootstrap)
    if [ "${#packages[@]}" -ne 0 ]; then
        if ! command -v apt-get >/dev/null 2>&1; then
            _graph_ckpt_no_docker "${packages[*]} missing and there is no apt-get to install them"
            return
        fi
        echo "installing ${packages[*]} for the container tests" >&2
        if ! { "${_graph_ckpt_sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q "${packages[@]}" >&2 \
            || { "${_graph_ckpt_sudo[@]}" apt-get update -q >&2 \
                && "${_graph_ckpt_sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
                    apt-get install -y -q "${packages[@]}" >&2; }; }; then
            _graph_ckpt_no_docker "apt-get could not install ${packages[*]}"
            return
        fi
    fi
    if ! _graph_ckpt_docker_answers; then
        if pgrep -x dockerd >/dev/null; then
            _graph_ckpt_no_docker "a dockerd runs but does not answer this user (docker info fails)"
            return
        fi
        local log="${GRAPH_CKPT_NEO4J_HOME:-$root/.neo4j}/dockerd.log"
        mkdir -p "$(dirname "$log")"
        "${_graph_ckpt_sudo[@]}" dockerd >"$log" 2>&1 </dev/null &
        _graph_ckpt_dockerd_pid=$!
        for _ in $(seq 60); do
            _graph_ckpt_docker_answers && break
            if ! kill -0 "$_graph_ckpt_dockerd_pid" 2>/dev/null; then
                _graph_ckpt_dockerd_pid=""
                _graph_ckpt_no_docker "dockerd exited while starting: $(tail -n 1 "$log")"
                return
            fi
            sleep 0.5
        done
        if ! _graph_ckpt_docker_answers; then
            _graph_ckpt_stop_docker
            _graph_ckpt_no_docker "dockerd did not answer within 30s (log: $log)"
            return
        fi
        echo "dockerd started (pid $_graph_ckpt_dockerd_pid, log $log)" >&2
    fi
    # A failed build is not a reason to skip: the tests run it again and fail with its error.
    "$root/scripts/neo4j" image >/dev/null || true
}

if [ "${GRAPH_CKPT_NO_DOCKER:-}" = 1 ]; then
    _graph_ckpt_no_docker "GRAPH_CKPT_NO_DOCKER=1"
else
    _graph_ckpt_start_docker
fi
trap _graph_ckpt_stop_docker EXIT
