#!/bin/bash
# Entrypoint of graph-checkpoint/neo4j:<version>-local: runs Neo4j Community from its jars in
# the foreground, following the conventions of the official neo4j image that testcontainers'
# Neo4jContainer (and graph-checkpoint's pytest plugin) rely on:
#   NEO4J_AUTH=neo4j/<password>  the initial password (set before the first start)
#   NEO4J_AUTH=none              authentication off
#   NEO4J_<setting>=<value>      a neo4j.conf setting, '_' read as '.' and '__' as '_'
#                                (NEO4J_server_memory_heap_max__size=1g)
# Bolt listens on 7687 and HTTP on 7474 (HTTP is on because Neo4j prints "Remote interface
# available at ..." only then, the log line Neo4jContainer waits for); the log goes to
# stdout. A command other than "neo4j" runs as given (docker run IMAGE bash).
set -euo pipefail

home="${NEO4J_HOME:-/var/lib/neo4j}"
conf_dir="$home/conf"

if [ "$#" -gt 0 ] && [ "$1" != "neo4j" ]; then
    exec "$@"
fi

mkdir -p "$conf_dir" "$home/run" /data /logs /import /plugins

declare -A conf=(
    [server.default_listen_address]=0.0.0.0
    [server.bolt.listen_address]=:7687
    [server.http.enabled]=true
    [server.http.listen_address]=:7474
    [server.https.enabled]=false
    [server.directories.data]=/data
    [server.directories.logs]=/logs
    [server.directories.import]=/import
    [server.directories.plugins]=/plugins
    [server.directories.run]="$home/run"
    [server.memory.heap.initial_size]=512m
    [server.memory.heap.max_size]=512m
    [server.memory.pagecache.size]=256m
    [dbms.usage_report.enabled]=false
    [dbms.security.auth_enabled]=true
)

# Variables the official image reads for itself, never settings.
while IFS='=' read -r name value; do
    case "$name" in
        NEO4J_AUTH | NEO4J_HOME | NEO4J_CONF | NEO4J_EDITION | NEO4J_ACCEPT_LICENSE_AGREEMENT | \
            NEO4J_PLUGINS | NEO4J_DEBUG | NEO4J_USER | NEO4J_PASSWORD) continue ;;
    esac
    key="${name#NEO4J_}"
    key="${key//__/@}"
    key="${key//_/.}"
    conf[${key//@/_}]="$value"
done < <(env | grep -E '^NEO4J_[A-Za-z0-9_]+=' || true)

password=""
case "${NEO4J_AUTH:-}" in
    "") ;; # as in the official image: neo4j/neo4j, to be changed at the first login
    none) conf[dbms.security.auth_enabled]=false ;;
    neo4j/*) password="${NEO4J_AUTH#neo4j/}" ;;
    */*)
        echo "Invalid NEO4J_AUTH: the user must be neo4j, not '${NEO4J_AUTH%%/*}'" >&2
        exit 1
        ;;
    *)
        echo "Invalid NEO4J_AUTH: use neo4j/<password> or none" >&2
        exit 1
        ;;
esac

{
    echo "# Written by /docker-entrypoint.sh at every start, from its defaults and NEO4J_*."
    for key in "${!conf[@]}"; do
        printf '%s=%s\n' "$key" "${conf[$key]}"
    done
} >"$conf_dir/neo4j.conf"
export NEO4J_HOME="$home" NEO4J_CONF="$conf_dir"

if [ -n "$password" ] && [ "${conf[dbms.security.auth_enabled]}" = true ] \
    && [ ! -e /data/dbms/auth.ini ] && [ ! -e /data/databases/system ]; then
    # The initial password can only be set before the first start; Neo4j refuses one of
    # fewer than 8 characters, as the official image does.
    java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "$home/lib/*" \
        org.neo4j.cli.AdminTool dbms set-initial-password "$password" >/dev/null
fi

mapfile -t jvm_args <"$home/jvm.args"
# exec: java is PID 1, so `docker stop` reaches Neo4j, which shuts down cleanly on SIGTERM.
exec java \
    "-Xms${conf[server.memory.heap.initial_size]}" "-Xmx${conf[server.memory.heap.max_size]}" \
    -XX:+ExitOnOutOfMemoryError "${jvm_args[@]}" \
    -cp "$home/lib/*" "$GRAPH_CKPT_ENTRY_CLASS" \
    "--home-dir=$home" "--config-dir=$conf_dir" --console-mode
