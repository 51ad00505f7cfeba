-- Break-glass registry (NS-PG-007 §8.1, §11 "break-glass usage logs"): one row per request,
-- changed only by nspg_guard's functions (breakglass_request/approve/deny/end/review and the
-- background writer at expiry). Every step is also an audit event (class breakglass). The
-- registry lives in nspg_guard.audit_database: role grants are cluster-wide, so one registry
-- serves every database.
CREATE TABLE nspg_guard.breakglass_requests (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    requester       name NOT NULL,
    requester_oid   oid NOT NULL,
    reason          text NOT NULL,
    incident        text,
    duration        interval NOT NULL,
    requested_at    timestamptz NOT NULL DEFAULT now(),
    state           text NOT NULL DEFAULT 'requested'
                    CHECK (state IN ('requested', 'active', 'denied', 'expired', 'ended', 'cancelled')),
    decided_by      name,
    decided_at      timestamptz,
    decision_note   text,
    self_approved   boolean NOT NULL DEFAULT false,
    granted_role    name,
    expires_at      timestamptz,
    ended_at        timestamptz,
    ended_by        name,
    end_reason      text,
    sessions_ended  integer,
    reviewed_by     name,
    reviewed_at     timestamptz,
    review_notes    text
);
CREATE INDEX breakglass_requests_open ON nspg_guard.breakglass_requests (expires_at) WHERE state = 'active';
-- one open request per role, whatever runs concurrently
CREATE UNIQUE INDEX breakglass_requests_one_open ON nspg_guard.breakglass_requests (requester_oid)
    WHERE state IN ('requested', 'active');
REVOKE ALL ON nspg_guard.breakglass_requests FROM PUBLIC;
-- The registries are evidence too: pg_dump keeps their rows and identity counters.
SELECT pg_catalog.pg_extension_config_dump('nspg_guard.breakglass_requests', '');
SELECT pg_catalog.pg_extension_config_dump('nspg_guard.breakglass_requests_id_seq', '');
COMMENT ON TABLE nspg_guard.breakglass_requests IS
    'nspg_guard break-glass registry: requests, approvals, expiry and reviews (changed only by nspg_guard functions)';

-- Requests with their state, how many statements ran under them, and whether the mandatory
-- post-incident review is done. Readable by everyone: break-glass use is meant to be seen.
CREATE VIEW nspg_guard.breakglass_usages AS
SELECT r.id, r.requester, r.reason, r.incident, r.duration, r.requested_at, r.state,
       r.decided_by, r.decided_at, r.decision_note, r.self_approved, r.expires_at, r.ended_at, r.ended_by, r.end_reason,
       r.sessions_ended,
       CASE WHEN r.state IN ('active', 'expired', 'ended') THEN
           (SELECT count(*) FROM nspg_guard.audit_log a
             WHERE a.class = 'breakglass' AND a.outcome = 'statement' AND a."session_user" = r.requester
               AND a.id >= nspg_guard.audit_id_at(r.decided_at)
               AND a.event_time >= r.decided_at AND a.event_time <= coalesce(r.ended_at, now()))
       ELSE 0 END AS statements_run,
       CASE WHEN r.reviewed_at IS NOT NULL THEN 'reviewed'
            WHEN r.state IN ('expired', 'ended') THEN 'review due'
            WHEN r.state = 'active' THEN 'due when access ends'
            ELSE 'not needed' END AS review_status,
       r.reviewed_by, r.reviewed_at, r.review_notes
FROM nspg_guard.breakglass_requests r;
GRANT SELECT ON nspg_guard.breakglass_usages TO PUBLIC;

-- Incident lockdowns (NS-PG-007 §9): one row per lockdown_role(), closed by unlock_role().
CREATE TABLE nspg_guard.role_lockdowns (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    role_name           name NOT NULL,
    role_oid            oid NOT NULL,
    reason              text NOT NULL,
    locked_by           name NOT NULL,
    locked_at           timestamptz NOT NULL DEFAULT now(),
    could_login         boolean NOT NULL,
    sessions_ended      integer NOT NULL,
    breakglass_revoked  boolean NOT NULL,
    -- the memberships in the role that the lockdown revoked and unlock_role() grants back:
    -- [{"member": oid, "name": text, "admin_option": bool, "grantor": oid}]
    suspended_members   jsonb NOT NULL DEFAULT '[]',
    unlocked_by         name,
    unlocked_at         timestamptz,
    unlock_reason       text
);
CREATE UNIQUE INDEX role_lockdowns_in_force ON nspg_guard.role_lockdowns (role_oid) WHERE unlocked_at IS NULL;
REVOKE ALL ON nspg_guard.role_lockdowns FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('nspg_guard.role_lockdowns', '');
SELECT pg_catalog.pg_extension_config_dump('nspg_guard.role_lockdowns_id_seq', '');
GRANT SELECT ON nspg_guard.role_lockdowns TO PUBLIC;
