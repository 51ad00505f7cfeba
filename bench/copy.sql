-- Server-side COPY of a CSV file, run by bench/bench.sh in single-user mode as the bootstrap
-- superuser postgres: bench.sh starts this script with SET ROLE NONE instead of SET ROLE to the
-- app role, because reading a server file needs superuser or pg_read_server_files and
-- nspg_guard's risky-capability guard refuses it to non-admin roles. Same format as
-- statements.sql; the block runs once. {copy_file} is the file bench.sh writes (COPY_SCRIPT_ROWS
-- rows id,v,note, shaped like part 3's); bench.sh checks afterwards that bench_copy (empty in
-- bench/setup.sql) holds exactly those rows.
-- @repeat
COPY bench_copy FROM '{copy_file}' (FORMAT csv)
