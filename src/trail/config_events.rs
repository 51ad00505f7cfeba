//! Config events from the effective settings and from pg_control, not from statements: whatever
//! changed a configuration file (ALTER SYSTEM, a file written from SQL, an editor), the writer
//! notices the new values at reload and at start and records each audit-relevant change with
//! its old and new value; and each start is judged against the state nspg_guard recorded at its
//! last stop, in `$PGDATA/nspg_guard/config_state.json` — never against rows, which anyone can
//! write while the library is absent.
//!
//! These events are recorded whatever `nspg_guard.audit` says: switching the audit off is one
//! of them.

use crate::pg::as_guard::as_guard;
use crate::pg::control_file;
use crate::pg::state_dir;
use crate::policy::audit_event::AuditClass;
use crate::policy::config_watch::{self, ConfigState, PreviousRun, Run, UnguardedRun};
use crate::trail::write;
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::spi::Spi;
use std::collections::BTreeMap;
use std::io;

const STATE: &str = "config_state.json";

fn load() -> io::Result<Option<ConfigState>> {
    match state_dir::read(STATE)? {
        None => Ok(None),
        // a file that does not parse is treated as missing: the start is then flagged
        Some(bytes) => Ok(serde_json::from_slice(&bytes).map_err(|e| pgrx::warning!("nspg_guard: {STATE} does not parse: {e}")).ok()),
    }
}

fn save(state: &ConfigState) -> io::Result<()> {
    state_dir::write(STATE, &serde_json::to_vec_pretty(state).map_err(io::Error::other)?)
}

/// Each setting's value as the configuration files now give it to a new session (the writer's
/// own value of a setting fixed at session or server start does not follow a reload), or, when
/// it comes from elsewhere (the command line, the environment), its value here; with where it
/// was set. Values of files are as written (`'250ms'`); a change pending a restart shows at the
/// reload that read it.
const READ_SETTINGS: &str = "
    SELECT s.name,
           CASE WHEN s.source IN ('configuration file', 'default') THEN coalesce(f.setting, s.boot_val) ELSE s.setting END,
           CASE WHEN s.source IN ('configuration file', 'default') THEN f.sourcefile || ':' || f.sourceline ELSE s.source END
      FROM pg_catalog.pg_settings s
      LEFT JOIN LATERAL (SELECT f.setting, f.sourcefile, f.sourceline FROM pg_catalog.pg_file_settings f
                          WHERE f.name OPERATOR(pg_catalog.=) s.name AND f.error IS NULL
                          ORDER BY f.seqno DESC LIMIT 1) f ON true";

/// A watched setting's value (see READ_SETTINGS), and where it was set.
struct Reading {
    values: BTreeMap<String, String>,
    sources: BTreeMap<String, String>,
}

fn read_settings() -> Reading {
    let rows = as_guard(|| {
        Spi::connect(|client| {
            let rows = client.select(
                READ_SETTINGS,
                None,
                &[],
            )?;
            let mut out = Vec::new();
            for row in rows {
                out.push((row.get::<String>(1)?.unwrap_or_default(), row.get::<String>(2)?.unwrap_or_default(), row.get::<String>(3)?));
            }
            Ok::<_, pgrx::spi::Error>(out)
        })
    })
    .unwrap_or_else(|e| {
        pgrx::warning!("nspg_guard: could not read the settings: {e}");
        Vec::new()
    });
    let mut reading = Reading { values: BTreeMap::new(), sources: BTreeMap::new() };
    for (name, value, source) in rows.into_iter().filter(|(name, _, _)| config_watch::watched(name)) {
        reading.values.insert(name.clone(), config_watch::shown(&name, &value));
        if let Some(source) = source {
            reading.sources.insert(name, source);
        }
    }
    reading
}

/// One config event per audit-relevant setting that changed since `before`.
fn record_changes(before: &BTreeMap<String, String>, now: &Reading, noticed_at: &str) {
    for change in config_watch::changes(before, &now.values) {
        let mut e = write::event(AuditClass::Config, "changed");
        e.command_tag = Some("SETTING CHANGE".into());
        e.object_type = Some("setting".into());
        e.object_identity = Some(change.setting.clone());
        e.details = Some(serde_json::json!({
            "setting": change.setting,
            "old": change.old,
            "new": change.new,
            "noticed_at": noticed_at,
            "set_in": now.sources.get(&change.setting),
        }));
        write::record_always(e);
    }
}

/// The writer after a reload (it processed SIGHUP itself): the changes since the last reading.
/// In a transaction.
pub fn at_reload() {
    let done = state_dir::locked(STATE, || {
        let mut state = load()?.unwrap_or_default();
        let now = read_settings();
        if now.values.is_empty() {
            return Ok(());
        }
        record_changes(&state.settings, &now, "reload");
        state.settings = now.values;
        save(&state)
    });
    if let Err(e) = done {
        pgrx::warning!("nspg_guard: could not keep the settings in {STATE}: {e}");
    }
}

/// The writer's start (in a transaction): the changes since the last reading, the judgement of
/// what ran since our last record (a start after an unguarded run is kept until acknowledged),
/// and the SERVER START event.
pub fn at_start(trail_exists: bool, versions: &[(&str, serde_json::Value)]) {
    let done = state_dir::locked(STATE, || {
        let recorded = load()?;
        let control = control_file::read()?;
        let now = read_settings();
        let mut state = recorded.clone().unwrap_or_default();
        let (postmaster_start, postmaster_start_secs) = unsafe { (pg_sys::PgStartTime, pg_sys::timestamptz_to_time_t(pg_sys::PgStartTime)) };
        let previous = config_watch::previous_run(recorded.as_ref().and_then(|s| s.run.as_ref()), control.checkpoint, postmaster_start, postmaster_start_secs, trail_exists);
        // the first reading has nothing to compare with
        if !state.settings.is_empty() && !now.values.is_empty() {
            record_changes(&state.settings, &now, "start");
        }
        let evidence = serde_json::json!({
            "recorded": recorded.as_ref().and_then(|s| s.run.as_ref()).map(run_json),
            "found_checkpoint_lsn": config_watch::lsn_text(control.checkpoint.lsn),
            "found_checkpoint_time": control.checkpoint.time,
            "server_started": crate::policy::audit_event::iso_timestamp(postmaster_start),
        });
        if let PreviousRun::RanWithout(why) = previous {
            let mut e = write::event(AuditClass::Config, "ran_without_nspg_guard");
            e.command_tag = Some("SERVER START".into());
            e.reason = Some(format!("the server ran without nspg_guard since its last recorded stop: {why}"));
            let mut details = evidence.clone();
            details["why"] = why.into();
            let id = state.unacknowledged.iter().map(|r| r.id).max().unwrap_or(0) + 1;
            state.unacknowledged.push(UnguardedRun { id, noticed_at: e.event_time.clone(), evidence: details.clone() });
            e.details = Some(details);
            write::record_always(e);
        }
        let mut e = write::event(AuditClass::Config, "started");
        e.command_tag = Some("SERVER START".into());
        let mut details = evidence;
        details["previous_run"] = previous.as_str().into();
        details["ran_without_nspg_guard"] = matches!(previous, PreviousRun::RanWithout(_)).into();
        for name in ["shared_preload_libraries", "nspg_guard.audit", "nspg_guard.audit_destination", "nspg_guard.ddl_guard", "nspg_guard.destructive_guard"] {
            details[name] = now.values.get(name).cloned().into();
        }
        for (name, value) in versions {
            details[*name] = value.clone();
        }
        e.details = Some(details);
        write::record_always(e);
        if previous != PreviousRun::SameServer {
            state.run = Some(Run::Running { postmaster_start, started_after: control.checkpoint });
        }
        if !now.values.is_empty() {
            state.settings = now.values;
        }
        save(&state)
    });
    if let Err(e) = done {
        pgrx::warning!("nspg_guard: could not judge this start against {STATE}: {e}");
    }
}

fn run_json(run: &Run) -> serde_json::Value {
    match run {
        Run::Running { started_after, .. } => serde_json::json!({
            "run": "running, no clean stop recorded",
            "checkpoint_lsn": config_watch::lsn_text(started_after.lsn),
            "checkpoint_time": started_after.time,
        }),
        Run::Stopped { shutdown_checkpoint } => serde_json::json!({
            "run": "stopped cleanly",
            "checkpoint_lsn": config_watch::lsn_text(shutdown_checkpoint.lsn),
            "checkpoint_time": shutdown_checkpoint.time,
        }),
    }
}

/// Registers, in the postmaster at preload, the record of a clean stop: at the postmaster's exit,
/// after the checkpointer wrote the shutdown checkpoint, when no SQL can run any more.
pub fn install_stop_record() {
    unsafe { pg_sys::on_proc_exit(Some(record_clean_stop), pg_sys::Datum::from(0)) };
}

#[pg_guard]
unsafe extern "C-unwind" fn record_clean_stop(code: i32, _arg: pg_sys::Datum) {
    // children inherit nothing from here in practice (PostgreSQL resets the list), but only the
    // postmaster (or a single-user backend) knows the stop was clean
    if pg_sys::IsUnderPostmaster || code != 0 {
        return;
    }
    let done = state_dir::locked(STATE, || {
        let control = control_file::read()?;
        if control.state != pg_sys::DBState::DB_SHUTDOWNED {
            return Ok(());
        }
        let mut state = load()?.unwrap_or_default();
        state.run = Some(Run::Stopped { shutdown_checkpoint: control.checkpoint });
        save(&state)
    });
    if let Err(e) = done {
        pgrx::log!("nspg_guard: could not record the clean stop in {STATE}: {e}");
    }
}

/// The starts after an unguarded run that no admin has acknowledged yet.
pub fn unacknowledged() -> io::Result<Vec<UnguardedRun>> {
    Ok(load()?.map(|s| s.unacknowledged).unwrap_or_default())
}

/// Forgets the flagged starts (an admin looked into them); returns them.
pub fn acknowledge() -> io::Result<Vec<UnguardedRun>> {
    state_dir::locked(STATE, || {
        let Some(mut state) = load()? else { return Ok(Vec::new()) };
        let acknowledged = std::mem::take(&mut state.unacknowledged);
        if !acknowledged.is_empty() {
            save(&state)?;
        }
        Ok(acknowledged)
    })
}
