# Sourced by scripts/test and scripts/demo: unless NEO4J_URI is already set, start the
# project's own Neo4j of the version GRAPH_CKPT_NEO4J_VERSION names (if it is not running
# yet), export its connection settings, and stop it again on exit if this script started it.
_graph_ckpt_started_neo4j=0
if [ -n "${NEO4J_URI:-}" ] && [ -n "${GRAPH_CKPT_NEO4J_VERSION:-}" ]; then
    echo "note: NEO4J_URI is set, so the server at $NEO4J_URI is used and" \
        "GRAPH_CKPT_NEO4J_VERSION=$GRAPH_CKPT_NEO4J_VERSION is ignored" >&2
fi
if [ -z "${NEO4J_URI:-}" ]; then
    if ! "$root/scripts/neo4j" status >/dev/null 2>&1; then
        "$root/scripts/neo4j" start
        _graph_ckpt_started_neo4j=1
    fi
    eval "$("$root/scripts/neo4j" env)"
fi
_graph_ckpt_cleanup() {
    if [ "$_graph_ckpt_started_neo4j" = 1 ]; then
        "$root/scripts/neo4j" stop || true
    fi
}
trap _graph_ckpt_cleanup EXIT
