# Live sessions for the shell tests (sourced; not a test itself): psql clients reading from a
# FIFO this script keeps open, so that a session stays open across time and other sessions.
# The test sets DIR, PORT and WORK and defines sql(); `trap sessions_cleanup EXIT` closes the
# sessions, stops the cluster and removes WORK.
declare -A FD=() PSQL_PID=()
# Writing to a FIFO whose psql is gone must fail the write, not kill this script.
trap '' PIPE

# open_session NAME USER [CONNINFO] — a psql of USER (application_name NAME, plus CONNINFO such
# as "replication=database") reading statements from a FIFO that this script keeps open; its
# output goes to $WORK/NAME.out. Sets SESSION_PID to its backend.
open_session() {
    local name=$1 user=$2 extra=${3:-} fd i
    mkfifo "$WORK/$name.fifo"
    # the psql must not inherit the write ends of the other sessions' FIFOs
    (
        for i in "${FD[@]}"; do eval "exec $i>&-"; done
        exec "$PG_BIN/psql" -X -At -v VERBOSITY=verbose \
            "host=$DIR port=$PORT user=$user dbname=postgres application_name=$name $extra" \
            <"$WORK/$name.fifo" >"$WORK/$name.out" 2>&1
    ) &
    PSQL_PID[$name]=$!
    exec {fd}>"$WORK/$name.fifo"
    FD[$name]=$fd
    SESSION_PID=
    for i in $(seq 50); do
        SESSION_PID=$(sql "SELECT pid FROM pg_stat_activity WHERE application_name = '$name'")
        [ -n "$SESSION_PID" ] && return 0
        sleep 0.1
    done
    echo "session $name never showed up in pg_stat_activity: $(cat "$WORK/$name.out")"
    return 1
}
# send NAME SQL — one statement (or several) to the session's psql.
send() { printf '%s\n' "$2" >&"${FD[$1]}" 2>/dev/null || true; }
# close_session NAME — end of input: the psql finishes what it was sent and exits; then
# $WORK/NAME.out is complete. (Not in $(…): the descriptor and the psql belong to this shell.)
close_session() {
    eval "exec ${FD[$1]}>&-"
    unset "FD[$1]"
    wait "${PSQL_PID[$1]}" 2>/dev/null || true
    unset "PSQL_PID[$1]"
}
output() { cat "$WORK/$1.out"; }
# gone PID — "t" when no backend has that pid.
gone() { sql "SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $1)"; }
# wait_gone PID [TENTHS] — polls every 0.1 s until the backend is gone (default up to 5 s).
wait_gone() {
    local i
    for i in $(seq "${2:-50}"); do
        [ "$(gone "$1")" = t ] && return 0
        sleep 0.1
    done
    return 1
}
# wait_output NAME TEXT [TENTHS] — until session NAME has printed TEXT (default up to 5 s).
wait_output() {
    local i
    for i in $(seq "${3:-50}"); do
        grep -qF -- "$2" "$WORK/$1.out" && return 0
        sleep 0.1
    done
    return 1
}
# sessions_cleanup — the EXIT trap: every session closed, the cluster at DIR stopped, WORK removed.
sessions_cleanup() {
    local name
    for name in "${!FD[@]}"; do eval "exec ${FD[$name]}>&-" 2>/dev/null || true; done
    for name in "${!PSQL_PID[@]}"; do kill "${PSQL_PID[$name]}" 2>/dev/null || true; done
    stop_cluster "$DIR"
    rm -rf "$WORK"
}
# set_max VALUE|DEFAULT — nspg_guard.admin_session_max_duration (DEFAULT: reset), waiting until
# a new session sees it and the audit writer has reloaded its configuration too.
set_max() {
    local want i
    if [ "$1" = DEFAULT ]; then sql "ALTER SYSTEM RESET nspg_guard.admin_session_max_duration" >/dev/null; want=8h
    else sql "ALTER SYSTEM SET nspg_guard.admin_session_max_duration = '$1'" >/dev/null; want=$1; fi
    sql "SELECT pg_reload_conf()" >/dev/null
    for i in $(seq 50); do
        [ "$(sql "SHOW nspg_guard.admin_session_max_duration")" = "$want" ] && break
        sleep 0.1
    done
    sleep 1 # the writer reloads its configuration at its next round (every 0.5 s)
}
