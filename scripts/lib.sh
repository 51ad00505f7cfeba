# Shared helpers for the README commands, the tests and the benchmarks. Source it; don't run it.
# Everything runs as root; PostgreSQL itself runs as the `postgres` OS user.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_MAJOR=15
# NSPG_PG_ROOT: a private, relocated copy of PostgreSQL (made on first use) that the build is
# installed into instead of the system one, so that several checkouts can be tested at once.
PG_ROOT=${NSPG_PG_ROOT:-}
PG_BIN=$PG_ROOT/usr/lib/postgresql/$PG_MAJOR/bin
# The build always compiles against the system's headers.
PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
PGRX_VERSION=0.18.1
APT_PACKAGES=(postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR libclang-dev clang sudo valgrind pgbouncer postgresql-$PG_MAJOR-pgaudit graphviz)
export PGRX_PG_CONFIG_PATH=$PG_CONFIG
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# Installs what is missing: Debian packages, cargo-pgrx at the pinned version, pgrx's config.
# Each step is skipped when already done, so a second run takes seconds.
ensure_toolchain() {
    local missing=()
    for pkg in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if ((${#missing[@]})); then
        say "apt-get install ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    # Debian's package starts a main cluster; ours are throwaway ones, so keep it out of the way.
    if pg_lsclusters -h 2>/dev/null | grep -q " online "; then
        pg_ctlcluster "$PG_MAJOR" main stop 2>/dev/null || true
    fi
    if ! cargo pgrx --version 2>/dev/null | grep -q " $PGRX_VERSION\$"; then
        say "cargo install cargo-pgrx $PGRX_VERSION (about 15 minutes, once)"
        cargo install cargo-pgrx --version "=$PGRX_VERSION" --locked
    fi
    if ! grep -q "pg$PG_MAJOR" "$HOME/.pgrx/config.toml" 2>/dev/null; then
        cargo pgrx init --pg$PG_MAJOR "$PG_CONFIG"
    fi
}

# Builds the extension and installs it into the system PostgreSQL (or into NSPG_PG_ROOT).
build_and_install() {
    say "build and install nspg_guard into PostgreSQL $PG_MAJOR${PG_ROOT:+ at $PG_ROOT}"
    local log
    log=$(mktemp)
    local install=(cargo pgrx install --release --pg-config "$PG_CONFIG")
    if [ -n "$PG_ROOT" ]; then
        make_private_pg
        install=(private_install)
    fi
    if ! (cd "$REPO_ROOT" && "${install[@]}") >"$log" 2>&1; then
        grep -Ev '^\s*$' "$log" | tail -n 40
        echo "build or install failed (full log: $log)" >&2
        return 1
    fi
    grep -Ev '^\s*$' "$log" | tail -n 2
    rm -f "$log"
}

# A relocated copy of the system's PostgreSQL at PG_ROOT: it finds its lib and share folders
# next to its binaries, so an extension installed there is seen by its servers only.
make_private_pg() {
    [ -x "$PG_BIN/postgres" ] && return 0
    mkdir -p "$PG_ROOT/usr/lib/postgresql" "$PG_ROOT/usr/share/postgresql"
    cp -a "/usr/lib/postgresql/$PG_MAJOR" "$PG_ROOT/usr/lib/postgresql/"
    cp -a "/usr/share/postgresql/$PG_MAJOR" "$PG_ROOT/usr/share/postgresql/"
}

# NSPG_DEV_BUILD=1: a debug build (quick to compile while developing; never for benchmarks or CI).
private_install() {
    local out
    out=$(mktemp -d)
    cargo pgrx package --pg-config "$PG_CONFIG" --out-dir "$out" ${NSPG_DEV_BUILD:+--debug}
    cp -r "$out/usr/." "$PG_ROOT/usr/"
    rm -rf "$out"
}

# Where the PostgreSQL the tests run (the system's, or the copy at NSPG_PG_ROOT) keeps extensions.
pg_config_sharedir() { echo "$PG_ROOT$("$PG_CONFIG" --sharedir)"; }
pg_config_pkglibdir() { echo "$PG_ROOT$("$PG_CONFIG" --pkglibdir)"; }

# RUST_BACKTRACE would make pgrx append Rust backtraces to the DETAIL of errors that pass through the hooks.
as_postgres() { env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE runuser -u postgres -- "$@"; }

# start_cluster DIR PORT PRELOAD [CONF] — a fresh throwaway cluster in DIR (removed first),
# listening on 127.0.0.1:PORT and on a socket in DIR, with shared_preload_libraries=PRELOAD
# ('' for none) and the lines CONF, if given, in postgresql.conf from its first start.
start_cluster() {
    local dir=$1 port=$2 preload=$3 conf=${4:-}
    stop_cluster "$dir"
    rm -rf "$dir"
    mkdir -p "$dir"
    chown postgres:postgres "$dir"
    as_postgres "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync >/dev/null
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
shared_preload_libraries = '$preload'
fsync = off
log_line_prefix = '%m [%p] %q%u@%d '
lc_messages = 'C'
$conf
CONF
    as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
}

stop_cluster() {
    local dir=$1
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
}

# psql_at DIR PORT [psql args…] — psql against a cluster started by start_cluster.
psql_at() {
    local dir=$1 port=$2
    shift 2
    "$PG_BIN/psql" -X -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres "$@"
}
