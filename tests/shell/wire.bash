# Shared by the shell tests that speak the wire protocol (protocol_paths.sh,
# redteam_regressions.sh). Source it after setting DIR and PORT (the test's own cluster); it
# builds the protocol client (tests/pgwire) and defines the helpers below.
WIRE=$REPO_ROOT/tests/pgwire/target/release/pgwire
export PGWIRE_TIMEOUT=30

say "build the protocol client (tests/pgwire)"
CARGO_TARGET_DIR="$REPO_ROOT/tests/pgwire/target" cargo build --release --quiet --manifest-path "$REPO_ROOT/tests/pgwire/Cargo.toml"

# sql SQL [USER] — psql as USER (default postgres), database postgres; output and errors, never fails.
sql() {
    "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U "${2:-postgres}" -d postgres -At -c "$1" 2>&1 || true
}
flush() { sql "SELECT nspg_guard.audit_flush(20000)" >/dev/null; }
# wire USER APP [CONNINFO…] < script — the pgwire client as USER with application_name APP.
wire() {
    "$WIRE" "host=$DIR port=$PORT user=$1 dbname=postgres application_name=$2 ${3:-}" 2>&1 || true
}
# count_lines OUTPUT LINE — how many lines of OUTPUT are exactly LINE.
count_lines() { grep -cxF -- "$2" <<<"$1" || true; }
# expect_count NAME OUTPUT LINE N — OUTPUT has exactly N lines equal to LINE.
expect_count() {
    local n
    n=$(count_lines "$2" "$3")
    if [ "$n" = "$4" ]; then pass "$1"; else fail "$1: expected $4 line(s) \"$3\", found $n in:"; show "$2"; fi
}
# expect_same NAME GOT WANT — GOT is exactly WANT (multi-line values compared whole).
expect_same() {
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected:"; show "$3"; echo "    got:"; show "$2"; fi
}
# no_other_errors NAME OUTPUT N — OUTPUT has exactly N ERROR lines.
no_other_errors() {
    local n
    n=$(grep -c '^ERROR ' <<<"$2" || true)
    if [ "$n" = "$3" ]; then pass "$1"; else fail "$1: expected $3 ERROR line(s), found $n in:"; show "$2"; fi
}
