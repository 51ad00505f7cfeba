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
-- the questions of §7.1: what happened when, who did it, what was touched
CREATE INDEX audit_log_time ON nspg_guard.audit_log (event_time);
CREATE INDEX audit_log_principal ON nspg_guard.audit_log ("session_user", event_time);
CREATE INDEX audit_log_object ON nspg_guard.audit_log (object_identity, event_time);
REVOKE ALL ON nspg_guard.audit_log FROM PUBLIC;

-- The hash chain, one row per sealed audit row. Kept apart so that audit rows are written
-- once and never updated: sealing inserts here instead of rewriting every index of the log.
CREATE TABLE nspg_guard.audit_chain (
    id        bigint PRIMARY KEY,          -- audit_log.id
    seal_seq  bigint NOT NULL UNIQUE,      -- position in the chain
    prev_hash bytea NOT NULL,
    row_hash  bytea NOT NULL
);
REVOKE ALL ON nspg_guard.audit_chain FROM PUBLIC;

-- What a row's hash covers: every column, in a form that does not depend on session settings
-- (time as epoch seconds, not in the session's TimeZone/DateStyle); the chain adds its place.
CREATE FUNCTION nspg_guard._row_content(r nspg_guard.audit_log) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT jsonb_build_array(r.id, extract(epoch FROM r.event_time), r.class, r.outcome, r.command_tag,
        r.object_type, r.object_identity, r.statement, r.rows, r.sqlstate, r.reason, r."session_user",
        r."current_user", host(r.client_addr), r.client_port, r.application_name, r.database,
        r.backend_pid, r.session_id, r.xid, r.details)::text
$$;

-- Seals committed rows in id order, continuing the chain; one sealer at a time, at most `batch`
-- rows a call. Rows are looked for after the last sealed id, less a margin (ids are microseconds:
-- ten seconds) for transactions that committed late; `everything` looks at the whole table (the writer does that now and then).
CREATE FUNCTION nspg_guard._seal_pending(everything boolean DEFAULT false, batch integer DEFAULT 20000)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    rec record;
    prev bytea;
    hash bytea;
    seq bigint;
    floor_id bigint;
    n bigint := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('nspg_guard.audit_seal'));
    SELECT c.seal_seq, c.row_hash INTO seq, prev FROM nspg_guard.audit_chain c ORDER BY c.seal_seq DESC LIMIT 1;
    seq := coalesce(seq, 0);
    prev := coalesce(prev, '\x'::bytea);
    floor_id := CASE WHEN everything THEN 0
                     ELSE greatest(0, coalesce((SELECT max(id) FROM nspg_guard.audit_chain), 0) - 10000000) END;
    FOR rec IN SELECT l.id, nspg_guard._row_content(l) AS content FROM nspg_guard.audit_log l
                WHERE l.id > floor_id AND NOT EXISTS (SELECT FROM nspg_guard.audit_chain c WHERE c.id = l.id)
                ORDER BY l.id LIMIT batch LOOP
        seq := seq + 1;
        hash := sha256(prev || convert_to(rec.content || '|' || seq, 'UTF8'));
        INSERT INTO nspg_guard.audit_chain VALUES (rec.id, seq, prev, hash);
        prev := hash;
        n := n + 1;
    END LOOP;
    IF n > 0 THEN
        -- the head of the chain goes to the server log too, so that a rewritten chain shows
        RAISE LOG 'NSPG_AUDIT_SEAL seal_seq=% row_hash=%', seq, encode(prev, 'hex');
    END IF;
    RETURN n;
END $$;

-- Removes sealed rows older than the retention; always keeps the newest sealed row so the
-- chain goes on. Returns what the purge row must record for audit_verify() to accept the cut.
CREATE FUNCTION nspg_guard._purge_older_than(retention interval) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    last_seq bigint;
    last_hash bytea;
    purged bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('nspg_guard.audit_seal'));
    SELECT max(c.seal_seq) INTO last_seq
      FROM nspg_guard.audit_chain c JOIN nspg_guard.audit_log l USING (id)
     WHERE l.event_time < now() - retention
       AND c.seal_seq < (SELECT max(seal_seq) FROM nspg_guard.audit_chain);
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

-- Walks the chain; the first row where it breaks, or ok. Rows not sealed yet are not covered.
CREATE FUNCTION nspg_guard.audit_verify()
RETURNS TABLE (ok boolean, rows_checked bigint, first_broken_id bigint, problem text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    c record;
    prev bytea;
    expected bigint;
    n bigint := 0;
BEGIN
    FOR c IN SELECT ch.id, ch.seal_seq, ch.prev_hash, ch.row_hash, nspg_guard._row_content(l) AS content,
                    l.id IS NOT NULL AS present
               FROM nspg_guard.audit_chain ch LEFT JOIN nspg_guard.audit_log l ON l.id = ch.id
              ORDER BY ch.seal_seq LOOP
        IF expected IS NULL AND c.seal_seq = 1 THEN
            IF c.prev_hash <> '\x'::bytea THEN
                RETURN QUERY SELECT false, n, c.id, 'the first row does not start the chain';
                RETURN;
            END IF;
        ELSIF expected IS NULL THEN
            IF NOT EXISTS (SELECT FROM nspg_guard.audit_log p
                            WHERE p.command_tag = 'AUDIT PURGE'
                              AND (p.details->>'last_purged_seal_seq')::bigint = c.seal_seq - 1
                              AND p.details->>'last_purged_hash' = encode(c.prev_hash, 'hex')) THEN
                RETURN QUERY SELECT false, n, c.id, 'rows before this one are missing and no audit_purge() accounts for them';
                RETURN;
            END IF;
        ELSIF c.seal_seq <> expected THEN
            RETURN QUERY SELECT false, n, c.id, format('rows %s to %s of the chain are missing', expected, c.seal_seq - 1);
            RETURN;
        ELSIF c.prev_hash IS DISTINCT FROM prev THEN
            RETURN QUERY SELECT false, n, c.id, 'the link to the previous row does not match';
            RETURN;
        END IF;
        IF NOT c.present THEN
            RETURN QUERY SELECT false, n, c.id, 'the row was removed after it was sealed';
            RETURN;
        END IF;
        IF c.row_hash IS DISTINCT FROM sha256(c.prev_hash || convert_to(c.content || '|' || c.seal_seq, 'UTF8')) THEN
            RETURN QUERY SELECT false, n, c.id, 'the row was changed after it was sealed';
            RETURN;
        END IF;
        prev := c.row_hash;
        expected := c.seal_seq + 1;
        n := n + 1;
    END LOOP;
    RETURN QUERY SELECT true, n, NULL::bigint, NULL::text;
END $$;

REVOKE ALL ON FUNCTION nspg_guard._seal_pending(boolean, integer), nspg_guard._purge_older_than(interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION nspg_guard.audit_verify() FROM PUBLIC;

-- Tables whose reads and/or writes are audited (class access); see audit_relation().
CREATE TABLE nspg_guard.audited_relations (
    relid      oid PRIMARY KEY,
    mode       text NOT NULL CHECK (mode IN ('read', 'write', 'all')),
    changed_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON nspg_guard.audited_relations FROM PUBLIC;
