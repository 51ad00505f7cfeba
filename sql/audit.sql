-- The audit trail (NS-PG-007 §7): one row per audit event. Rows are written by nspg_guard
-- only (in the acting transaction, or by its background writer), sealed into a hash chain
-- within seconds, and can be neither changed nor removed through SQL while the library is
-- loaded, except old rows through nspg_guard.audit_purge().
CREATE TABLE nspg_guard.audit_log (
    -- given by nspg_guard, not a sequence (whose nextval would change the session's lastval()):
    -- microseconds since 2000, always above every id handed out or stored before
    id               bigint PRIMARY KEY,
    event_time       timestamptz NOT NULL,
    class            text NOT NULL,
    outcome          text NOT NULL,
    command_tag      text,
    object_type      text,
    object_identity  text,
    statement        text,
    rows             bigint,
    sqlstate         text,
    reason           text,
    "session_user"   text,
    "current_user"   text,
    client_addr      inet,
    client_port      integer,
    application_name text,
    database         text,
    backend_pid      integer NOT NULL,
    session_id       text,
    xid              bigint,
    details          jsonb
);
COMMENT ON TABLE nspg_guard.audit_log IS
    'nspg_guard audit trail: who did what, when, from where (append-only, hash-chained in audit_chain)';
-- The trail is written on every audited statement's path and read rarely: its key is its only
-- index. Ids are the insertion time in microseconds since 2000 and never below event_time, so the
-- questions of §7.1 (who, what), asked within a time range, read it through the key:
-- WHERE id >= nspg_guard.audit_id_at(t) AND event_time >= t. (A BRIN index on event_time cost
-- more per row than a b-tree: every row moves its range's maximum.)
REVOKE ALL ON nspg_guard.audit_log FROM PUBLIC;

-- The lowest id a row of an event at or after `t` can have (see above); the smallest bigint for
-- -infinity, the largest for infinity.
CREATE FUNCTION nspg_guard.audit_id_at(t timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN NOT pg_catalog.isfinite(t) THEN
                    CASE WHEN t OPERATOR(pg_catalog.>) 'epoch'::pg_catalog.timestamptz THEN '9223372036854775807'::pg_catalog.int8 ELSE '-9223372036854775808'::pg_catalog.int8 END
                ELSE pg_catalog.floor(pg_catalog.extract('epoch', t OPERATOR(pg_catalog.-) '2000-01-01 00:00:00+00'::pg_catalog.timestamptz)
                                      OPERATOR(pg_catalog.*) 1000000)::pg_catalog.int8 END
$$;

-- The hash chain, one row per sealed audit row. Kept apart so that audit rows are written
-- once and never updated: sealing inserts here instead of rewriting every index of the log.
-- The hash is computed by the library (src/policy/chain.rs, README "Audit trail"); the chain's
-- last row is anchored outside the tables ($PGDATA/nspg_guard/anchor.<database oid>).
CREATE TABLE nspg_guard.audit_chain (
    id        bigint PRIMARY KEY,          -- audit_log.id
    seal_seq  bigint NOT NULL UNIQUE,      -- position in the chain
    prev_hash bytea NOT NULL,
    row_hash  bytea NOT NULL,
    sealed_at timestamptz NOT NULL         -- not covered by the hash: when the sealer ran
);
REVOKE ALL ON nspg_guard.audit_chain FROM PUBLIC;

-- The trail is the operator's evidence: pg_dump keeps its rows and their chain (README "Backup
-- and restore"; a restore is admitted by guard/restore.rs).
SELECT pg_catalog.pg_extension_config_dump('nspg_guard.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('nspg_guard.audit_chain', '');

-- Removes sealed rows older than the retention; always keeps the newest sealed row and the
-- anchored one (seal_seq `anchored`) so the chain goes on from its anchor. The caller holds the
-- seal lock. Returns what the purge row must record for audit_verify() to accept the cut.
CREATE FUNCTION nspg_guard._purge_older_than(retention interval, anchored bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    last_seq bigint;
    last_hash bytea;
    purged bigint;
BEGIN
    SELECT max(c.seal_seq) INTO last_seq
      FROM nspg_guard.audit_chain c JOIN nspg_guard.audit_log l USING (id)
     WHERE l.event_time < now() - retention
       AND c.seal_seq < (SELECT max(seal_seq) FROM nspg_guard.audit_chain)
       AND c.seal_seq < anchored;
    IF last_seq IS NULL THEN
        RETURN jsonb_build_object('purged', 0);
    END IF;
    SELECT row_hash INTO last_hash FROM nspg_guard.audit_chain WHERE seal_seq = last_seq;
    DELETE FROM nspg_guard.audit_log l USING nspg_guard.audit_chain c WHERE c.id = l.id AND c.seal_seq <= last_seq;
    GET DIAGNOSTICS purged = ROW_COUNT;
    DELETE FROM nspg_guard.audit_chain WHERE seal_seq <= last_seq;
    RETURN jsonb_build_object('purged', purged, 'last_purged_seal_seq', last_seq,
                              'last_purged_hash', encode(last_hash, 'hex'));
END $$;

REVOKE ALL ON FUNCTION nspg_guard._purge_older_than(interval, bigint) FROM PUBLIC;

-- Tables whose reads and/or writes are audited (class access); see audit_relation().
-- regclass, not oid: pg_dump writes the table's name, so a restore into another cluster (new
-- oids) audits the same tables.
CREATE TABLE nspg_guard.audited_relations (
    relid      regclass PRIMARY KEY,
    mode       text NOT NULL CHECK (mode IN ('read', 'write', 'all')),
    changed_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON nspg_guard.audited_relations FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('nspg_guard.audited_relations', '');
