#!/usr/bin/env bash
# scripts/role_graph.sh (issue 16): the role graph rendered by Graphviz on the client, from
# nspg_guard.role_graph() fetched with psql; the picture shows the dangerous powers and the
# legend. The server never runs dot.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/assert.bash"
: "${TEST_DIR:?run me from scripts/test.sh}" "${TEST_PORT:?run me from scripts/test.sh}"
dir=$(dirname "$TEST_DIR")/role_graph_render
port=$((TEST_PORT + 42))
start_cluster "$dir" "$port" 'nspg_guard'
trap 'stop_cluster "$dir"' EXIT
psql_at "$dir" "$port" -q -c 'CREATE EXTENSION nspg_guard' \
    -c 'CREATE ROLE graph_files NOLOGIN IN ROLE pg_execute_server_program' \
    -c 'CREATE ROLE graph_bypass NOLOGIN BYPASSRLS' \
    -c 'CREATE ROLE graph_erin LOGIN IN ROLE graph_files, graph_bypass'
svg=$dir/roles.svg
render() { PSQL=$PG_BIN/psql bash "$REPO_ROOT/scripts/role_graph.sh" "$@" -h "$dir" -p "$port" -U postgres -d postgres; }
render -o "$svg"
got=$(cat "$svg" 2>/dev/null || true)
expect "an SVG picture" "$got" "<svg"
expect "the login role that can reach the server's programs" "$got" "can become: BYPASSRLS, pg_execute_server_program"
expect "the BYPASSRLS role" "$got" "[BYPASSRLS]"
expect "the legend" "$got" "CREATEROLE"
render -T png >"$dir/roles.png"
got=$(head -c 4 "$dir/roles.png" | od -An -c | tr -d ' ')
expect "a PNG on standard output" "$got" "PNG"
got=$(render -T 'svg; id' 2>&1 || echo "exit $?")
expect "no other format" "$got" "exit 2"
finish
