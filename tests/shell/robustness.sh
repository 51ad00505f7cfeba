#!/usr/bin/env bash
# Nothing any role sends can crash the server (issue 17). On a cluster of its own, with the
# library preloaded:
#   1. every function in schema nspg_guard (read from the catalog, so a new one is covered
#      without editing this file) is called as a role with no grants and as a superuser, with
#      hostile arguments per parameter type: NULLs, empty and 1 MB strings, 10k-100k levels of
#      brackets, braces, parentheses, quotes, dollar quotes and E'' escapes, invalid escapes,
#      negative and huge numbers, intervals like '-1 second' and '1000000 years';
#   2. statements through the hooks (refused, audited, allowed), built the same way: deep nesting
#      inside literals, comments, identifiers, DO bodies, EXECUTE strings, connection strings;
#   3. then: the postmaster PID is unchanged, the log has no "terminated by signal", no error of
#      ours is XX000, and a statement too nested to redact is kept as a marker, not in clear.
# Errors are fine; crashes are not. Prints the number of cases run.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/assert.bash"
set +e
dir=$(dirname "${TEST_DIR:-/tmp/nspg_guard_test/main}")/robustness
port=$((${TEST_PORT:-55441} + 9))
start_cluster "$dir" "$port" 'pg_stat_statements,nspg_guard' || exit 1
trap 'stop_cluster "$dir"' EXIT
work=$dir/cases
mkdir -p "$work"

# q USER [psql args…] — psql in database postgres (the audit database) as USER; never fails.
q() {
    local user=$1
    shift
    "$PG_BIN/psql" -X -h "$dir" -p "$port" -U "$user" -d postgres -v VERBOSITY=sqlstate "$@" 2>&1
}

q postgres -q <<'SQL' >/dev/null
CREATE EXTENSION nspg_guard;
CREATE ROLE robust_nobody LOGIN;
CREATE FOREIGN DATA WRAPPER robust_fdw;
CREATE SERVER robust_srv FOREIGN DATA WRAPPER robust_fdw;
GRANT USAGE ON FOREIGN SERVER robust_srv TO robust_nobody;
CREATE TABLE public.robust_t (id int PRIMARY KEY, v text);
GRANT ALL ON public.robust_t TO robust_nobody;
ALTER TABLE public.robust_t ENABLE ROW LEVEL SECURITY;
CREATE POLICY robust_p ON public.robust_t USING (v IS NOT NULL) WITH CHECK (id > 0);
-- Runs one case and says how it ended: ok, or the SQLSTATE and the message.
CREATE FUNCTION public.robust_try(call text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE call;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ' ' || left(replace(SQLERRM, E'\n', ' '), 160);
END
$$;
SQL
pid_before=$(head -n 1 "$dir/data/postmaster.pid")

say "1. every nspg_guard function with hostile arguments"
# Hostile values per parameter type, as SQL expressions evaluated at call time; the first of
# each type is the benign value other parameters take while one is hostile.
q postgres -q <<'SQL' >/dev/null
CREATE TABLE public.robust_values (type regtype, n int, expr text, PRIMARY KEY (type, n));
CREATE FUNCTION pg_temp.nested(open text, close text, n int) RETURNS text LANGUAGE sql
RETURN format('repeat(%L, %s) || repeat(%L, %s)', open, n, close, n);
INSERT INTO public.robust_values
SELECT t::regtype, row_number() OVER (PARTITION BY t::regtype ORDER BY ord), e
FROM (SELECT row_number() OVER () AS ord, * FROM (VALUES
    ('text', $$'robust'$$), ('text', 'NULL'), ('text', $$''$$), ('text', $$repeat('x', 1048576)$$),
    ('text', pg_temp.nested('[', ']', 100000)), ('text', pg_temp.nested('{', '}', 100000)),
    ('text', pg_temp.nested('(', ')', 100000)), ('text', pg_temp.nested('{A :x ', '}', 50000)),
    ('text', $$repeat('''', 100000)$$), ('text', pg_temp.nested('"', '"', 50000)),
    ('text', pg_temp.nested('/*', '*/', 50000)), ('text', pg_temp.nested('E''\\', '''', 20000)),
    ('text', $$(SELECT string_agg(format('$q%s$ ', i), '' ORDER BY i) || 'x' || string_agg(format(' $q%s$', i), '' ORDER BY i DESC) FROM generate_series(1, 30000) i)$$),
    ('text', $$'password=' || repeat('x', 100000)$$), ('text', $$E'\\xff\\u0000'$$), ('text', $$U&'\D800'$$),
    ('text', $$repeat(E'\u00e9', 100000)$$), ('text', $$'USING'$$), ('text', $$'WITH CHECK'$$), ('text', $$'all'$$),
    ('text', $$'-1 second'$$), ('text', $$'0.0.0.0'$$), ('text', $$'255.255.255.255'$$),
    ('name', $$'robust'$$), ('name', 'NULL'), ('name', $$''$$), ('name', $$repeat('n', 1000)$$),
    ('"char"', $$'r'$$), ('"char"', 'NULL'), ('"char"', $$''$$), ('"char"', $$'\'$$),
    ('integer', '1'), ('integer', 'NULL'), ('integer', '0'), ('integer', '-1'), ('integer', '2147483647'), ('integer', '-2147483648'),
    ('bigint', '1'), ('bigint', 'NULL'), ('bigint', '0'), ('bigint', '-1'), ('bigint', '9223372036854775807'), ('bigint', '-9223372036854775808'),
    ('oid', '0'), ('oid', 'NULL'), ('oid', '4294967295'), ('oid', $$(SELECT oid FROM pg_policy LIMIT 1)$$), ('oid', '10'),
    ('boolean', 'false'), ('boolean', 'NULL'), ('boolean', 'true'),
    ('interval', $$'1 minute'$$), ('interval', 'NULL'), ('interval', $$'-1 second'$$), ('interval', $$'1000000 years'$$),
    ('interval', $$'-178000000 years'$$), ('interval', $$'0'$$), ('interval', $$'1 microsecond'$$),
    ('timestamp with time zone', $$now() + '1 day'$$), ('timestamp with time zone', 'NULL'),
    ('timestamp with time zone', $$'infinity'$$), ('timestamp with time zone', $$'-infinity'$$), ('timestamp with time zone', $$'epoch'$$),
    ('regclass', $$'public.robust_t'$$), ('regclass', 'NULL'), ('regclass', '0'), ('regclass', $$'pg_catalog.pg_class'$$),
    ('regclass', $$'nspg_guard.audit_log'$$), ('regclass', '4294967295'),
    ('text[]', $$'{}'$$), ('text[]', 'NULL'), ('text[]', 'ARRAY[NULL]'), ('text[]', $$array_fill(repeat('x', 100)::text, ARRAY[100000])$$),
    ('text[]', $$ARRAY['rls', repeat('[', 100000), 'hba']$$), ('text[]', $$ARRAY['rls','rls','nope']$$),
    ('oid[]', $$'{}'$$), ('oid[]', 'NULL'), ('oid[]', $$'{0,4294967295,NULL}'$$), ('oid[]', $$array_fill(10::oid, ARRAY[100000])$$),
    ('nspg_guard.hba_line', $$ROW(1, 'host', '{all}', '{all}', '10.0.0.0', '255.0.0.0', 'md5', '{}', NULL)$$),
    ('nspg_guard.hba_line', 'NULL'), ('nspg_guard.hba_line', $$ROW(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)$$),
    ('nspg_guard.hba_line', $$ROW(-1, repeat('h', 1048576), ARRAY[repeat('[', 100000)], '{}', repeat('1', 100000), '::/0', repeat('(', 100000), ARRAY[NULL], repeat('e', 100000))$$),
    ('nspg_guard.hba_line[]', $$'{}'$$), ('nspg_guard.hba_line[]', 'NULL'), ('nspg_guard.hba_line[]', 'ARRAY[NULL]'),
    ('nspg_guard.hba_line[]', $$array_fill(ROW(1, 'host', '{all}', '{all}', '0.0.0.0', '0.0.0.0', 'trust', '{}', NULL)::nspg_guard.hba_line, ARRAY[20000])$$),
    ('nspg_guard.hba_line[]', $$ARRAY[ROW(2147483647, 'hostssl', ARRAY[repeat('{', 100000)], ARRAY[''], '::1', repeat('f', 100000), 'cert', ARRAY[repeat('x', 1048576)], '')]$$),
    ('nspg_guard.audit_log', 'NULL'), ('nspg_guard.audit_log', $$(SELECT a FROM nspg_guard.audit_log a ORDER BY id DESC LIMIT 1)$$)
) v(t, e)) numbered;
SQL
# One call per case: all parameters NULL, then each parameter hostile in turn (the others
# benign). Unknown types get NULL only.
q postgres -Atq <<'SQL' >/dev/null
CREATE TABLE public.robust_cases AS
WITH f AS (
    SELECT p.oid, p.proname, p.prokind, coalesce(p.proargtypes::oid[], '{}') AS types FROM pg_proc p
    WHERE p.pronamespace = 'nspg_guard'::regnamespace AND p.prokind IN ('f', 'p')
), arg AS (
    SELECT f.oid, a.pos, a.type,
           coalesce((SELECT v.expr FROM public.robust_values v WHERE v.type = a.type AND v.n = 1), 'NULL') AS benign
    FROM f, unnest(f.types) WITH ORDINALITY a(type, pos)
), vectors AS (
    SELECT f.oid, 0 AS pos, 0 AS n, (SELECT string_agg(format('NULL::%s', format_type(a.type, NULL)), ', ' ORDER BY a.pos) FROM arg a WHERE a.oid = f.oid) AS args
    FROM f
    UNION ALL
    SELECT h.oid, h.pos, v.n,
           (SELECT string_agg(format('(%s)::%s', CASE WHEN a.pos = h.pos THEN v.expr ELSE a.benign END, format_type(a.type, NULL)), ', ' ORDER BY a.pos)
            FROM arg a WHERE a.oid = h.oid)
    FROM arg h JOIN public.robust_values v ON v.type = h.type
)
SELECT row_number() OVER (ORDER BY f.proname, f.oid, x.pos, x.n) AS id,
       format(CASE f.prokind WHEN 'p' THEN 'CALL nspg_guard.%I(%s)' ELSE 'SELECT * FROM nspg_guard.%I(%s)' END, f.proname, coalesce(x.args, '')) AS call
FROM f JOIN vectors x ON x.oid = f.oid;
GRANT SELECT ON public.robust_cases TO robust_nobody;
SQL
q postgres -Atc "SELECT format('SELECT %s, public.robust_try(%L);', id, call) FROM public.robust_cases ORDER BY id" >"$work/functions.sql"
function_cases=$(q postgres -Atc "SELECT count(*) FROM public.robust_cases")
functions=$(q postgres -Atc "SELECT count(*) FROM pg_proc WHERE pronamespace = 'nspg_guard'::regnamespace")
echo "$functions functions, $function_cases argument vectors each as robust_nobody and as postgres"
for user in robust_nobody postgres; do
    PGOPTIONS='-c statement_timeout=20s' q "$user" -At -F '|' -f "$work/functions.sql" >"$work/functions.$user.out"
    echo "$user: $(grep -c '^[0-9]*|' "$work/functions.$user.out") results; $(grep -c '^[0-9]*|ok$' "$work/functions.$user.out") ok, the rest errors"
done
results=$(cat "$work"/functions.*.out)
expect_line "every case as robust_nobody has a result" "$(grep -c '^[0-9]*|' "$work/functions.robust_nobody.out")" "$function_cases"
expect_line "every case as postgres has a result" "$(grep -c '^[0-9]*|' "$work/functions.postgres.out")" "$function_cases"
internal=$(grep -E '^[0-9]+\|XX000' <<<"$results" | while IFS='|' read -r id rest; do
    echo "$(q postgres -Atc "SELECT call FROM public.robust_cases WHERE id = $id" | cut -c1-160) -> $rest"
done)
[ -z "$internal" ] && pass "no function error is XX000" || { fail "function errors with XX000:"; show "$internal"; }
reject "no lost connection in the function cases" "$results" "connection to server was lost"

say "2. statements through the hooks with hostile nesting"
# payloads: SQL fragments (most of them literals) nested 10k-100k levels deep
q postgres -q <<'SQL' >/dev/null
CREATE TABLE public.robust_payloads (name text PRIMARY KEY, sql text);
INSERT INTO public.robust_payloads VALUES
    ('dollar quotes x30000', (SELECT string_agg(format('$q%s$ ', i), '' ORDER BY i) || 'x' || string_agg(format(' $q%s$', i), '' ORDER BY i DESC) FROM generate_series(0, 29999) i)),
    ('dollar quotes x100000', (SELECT string_agg(format('$%s$', chr(97 + i % 26) || i), '' ORDER BY i) || string_agg(format('$%s$', chr(97 + i % 26) || i), '' ORDER BY i DESC) FROM generate_series(0, 99999) i)),
    ('brackets x100000', '''' || repeat('[', 100000) || repeat(']', 100000) || ''''),
    ('braces x100000', '''' || repeat('{', 100000) || 'password=x' || repeat('}', 100000) || ''''),
    ('quotes x100000', '''' || repeat('''''', 100000) || ''''),
    ('doubled quotes x20 levels', (WITH RECURSIVE d(n, s) AS (SELECT 0, $s$PASSWORD 'x'$s$ UNION ALL SELECT n + 1, '''' || replace(s, '''', '''''') || '''' FROM d WHERE n < 20) SELECT s FROM d WHERE n = 20)),
    ('E escapes x100000', 'E''' || repeat('\\', 100000) || ''''),
    ('E quotes x50000', 'E''' || repeat('\''', 50000) || ''''),
    ('1 MB literal', '''' || repeat('y', 1048576) || ''''),
    ('password conninfo 1 MB', '''host=h password=' || repeat('p', 1048576) || ''''),
    ('uri 100k', '''postgresql://u:' || repeat(':@', 100000) || '@h/db'''),
    ('nested comments x50000', '1 ' || repeat('/* ', 50000) || repeat(' */', 50000)),
    ('unclosed comments x50000', '1 ' || repeat('/* ', 50000)),
    ('line comments', '1 --' || repeat('x', 100000) || E'\n'),
    ('parentheses x100000', repeat('(', 100000) || '1' || repeat(')', 100000)),
    ('parentheses x5000', repeat('(', 5000) || '1' || repeat(')', 5000)),
    ('quoted identifier 1 MB', '"' || repeat('i""', 300000) || '"'),
    ('deep jsonb', '''' || repeat('[', 100000) || repeat(']', 100000) || '''::jsonb'),
    ('deep array', 'ARRAY' || repeat('[', 10000) || '1' || repeat(']', 10000)),
    ('invalid utf8 escape', $p$E'\xc3\x28\xff'$p$),
    ('invalid unicode escape', $p$U&'\D800\DFFF'$p$),
    ('unterminated dollar', '$zz$ ' || repeat('$a$ ', 50000)),
    ('unterminated quote', '''' || repeat('x', 100000));
SQL
# statement templates; %1$s is the payload, %2$s a case number (for unique names)
templates=(
    "refused|robust_nobody|CREATE TABLE public.robust_r%2\$s AS SELECT %1\$s AS v"
    "refused|robust_nobody|COMMENT ON TABLE public.robust_t IS %1\$s"
    "refused|robust_nobody|DO \$robust\$ BEGIN EXECUTE 'CREATE TABLE public.robust_e%2\$s AS SELECT ' || quote_literal(%1\$s); END \$robust\$"
    "refused|robust_nobody|CREATE USER MAPPING FOR robust_nobody SERVER robust_srv OPTIONS (user 'u', password %1\$s)"
    "refused|robust_nobody|ALTER ROLE robust_nobody PASSWORD %1\$s"
    "audited|postgres|CREATE TABLE public.robust_a%2\$s AS SELECT %1\$s AS v"
    "audited|postgres|COMMENT ON TABLE public.robust_t IS %1\$s"
    "audited|postgres|CREATE SERVER robust_s%2\$s FOREIGN DATA WRAPPER robust_fdw OPTIONS (host %1\$s, password %1\$s)"
    "audited|postgres|DO \$robust\$ BEGIN EXECUTE format('COMMENT ON TABLE public.robust_t IS %%L', %1\$s); END \$robust\$"
    "audited|postgres|DO \$robust\$ BEGIN PERFORM %1\$s; END \$robust\$"
    "allowed|robust_nobody|SELECT %1\$s"
    "allowed|robust_nobody|UPDATE public.robust_t SET v = %1\$s::text WHERE id = 1"
    "allowed|robust_nobody|DELETE FROM public.robust_t WHERE v = %1\$s::text"
    "allowed|robust_nobody|PREPARE robust_p%2\$s AS SELECT %1\$s"
    "allowed|robust_nobody|EXPLAIN SELECT %1\$s"
)
payloads=$(q postgres -Atc "SELECT name FROM public.robust_payloads ORDER BY name")
hook_cases=0
hook_out=$work/hooks.out
: >"$hook_out"
n=0
while IFS= read -r payload; do
    for template in "${templates[@]}"; do
        IFS='|' read -r kind user format <<<"$template"
        n=$((n + 1))
        file=$work/hook_$n.sql
        printf '\\set VERBOSITY sqlstate\n' >"$file"
        q postgres -Atc "SELECT format(\$fmt\$$format\$fmt\$, sql, $n) FROM public.robust_payloads WHERE name = \$n\$$payload\$n\$" >>"$file"
        out=$(PGOPTIONS='-c statement_timeout=20s' q "$user" -f "$file" | grep -v ' NOTICE: ' | tr '\n' ' ' | cut -c1-300)
        echo "$n|$kind|$user|$payload|${format%% *}|$out" >>"$hook_out"
        hook_cases=$((hook_cases + 1))
        rm -f "$file"
    done
done <<<"$payloads"
echo "$hook_cases statements ($(wc -l <<<"$payloads") payloads x ${#templates[@]} templates)"
hook_results=$(cat "$hook_out")
reject "no lost connection in the statement cases" "$hook_results" "connection to server was lost"
reject "no statement error is XX000" "$hook_results" "XX000"
# refused statements are refused (or fail earlier, in the parser), never run
expect_line "every refused statement failed" "$(grep "|refused|" "$hook_out" | grep -vc "ERROR")" "0"
q postgres -Atc "SELECT nspg_guard.audit_flush(60000)" >/dev/null
marker=$(q postgres -Atc "SELECT count(*) FROM nspg_guard.audit_log WHERE statement LIKE '[nspg_guard: statement of % bytes not stored: %]'")
[ "${marker:-0}" -gt 0 ] && pass "statements too nested to redact are kept as a marker ($marker rows)" \
    || fail "no audit row with the unredactable-statement marker"
expect_line "no password reached the trail in clear" \
    "$(q postgres -Atc "SELECT count(*) FROM nspg_guard.audit_log WHERE statement ~ 'password=pp|PASSWORD ''x'''")" "0"

say "3. the server survived"
expect_line "the postmaster PID is unchanged" "$(head -n 1 "$dir/data/postmaster.pid")" "$pid_before"
signals=$(grep -c 'terminated by signal' "$dir/server.log")
expect_line "no backend was terminated by a signal" "$signals" "0"
expect_line "the server answers" "$(q robust_nobody -Atc 'SELECT 42')" "42"
total=$((2 * function_cases + hook_cases))
echo "robustness: $total cases run ($((2 * function_cases)) function calls over $functions functions, $hook_cases statements)"
finish
