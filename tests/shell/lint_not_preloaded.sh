#!/usr/bin/env bash
# settings_guard_not_enforced when the library is not preloaded: a server started without
# nspg_guard in shared_preload_libraries, where CREATE EXTENSION loads the library into one
# backend but no guard runs. pg_regress cannot show this: its server preloads the library.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
dir=$(dirname "$TEST_DIR")/lint_not_preloaded
port=$((TEST_PORT + 1))
start_cluster "$dir" "$port" ''
trap 'stop_cluster "$dir"' EXIT
psql_at "$dir" "$port" -qc 'CREATE EXTENSION nspg_guard' 2>/dev/null
got=$(psql_at "$dir" "$port" -AtF ' | ' -c "SELECT severity, object_identity, message FROM nspg_guard.settings_lint() WHERE rule = 'settings_guard_not_enforced'")
want='error | shared_preload_libraries | nspg_guard is not in shared_preload_libraries, so none of its guards is active.'
echo "$got"
[ "$got" = "$want" ] || { echo "expected: $want"; exit 1; }
