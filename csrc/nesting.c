/*
 * How deep the current statement is nested: 0 while PostgreSQL starts or judges a client's own
 * statement, more inside functions, DO blocks, procedures, triggers and utility statements that
 * run others (EXPLAIN ANALYZE, CREATE TABLE AS, EXECUTE). pg_stat_statements counts the same way.
 * A client's own statement also runs in a portal: code run at depth 0 outside one is PostgreSQL
 * planning (an IMMUTABLE function folded at plan time) or committing (deferred triggers).
 *
 * This is C because the count must come back down when an error leaves the statement, and only
 * PG_TRY/PG_FINALLY sees every error without re-raising it differently: a Rust frame could only
 * re-raise a copy of the error (losing its cursor position and object names).
 */
#include "postgres.h"

#include "access/xact.h"
#include "nodes/parsenodes.h"
#include "catalog/objectaccess.h"
#include "executor/executor.h"
#include "optimizer/planner.h"
#include "tcop/pquery.h"
#include "tcop/utility.h"
#include "utils/backend_status.h"
#include "utils/portal.h"
#include "utils/timestamp.h"
#include "utils/timeout.h"
#include "storage/proc.h"

int nspg_guard_nesting = 0;

/* nspg_guard's own work at the start of each run of a client statement's portal (every Execute
 * message of a portal fetched in parts) and of each planning at depth 0, and at each fastpath
 * function call (the protocol's
 * 'F' message, which reaches no other hook); set by the Rust side. */
void (*nspg_guard_on_top_level_run) (void) = NULL;
void (*nspg_guard_on_fastpath_call) (Oid function) = NULL;

static ExecutorRun_hook_type prev_executor_run = NULL;
static object_access_hook_type prev_object_access = NULL;
static planner_hook_type prev_planner = NULL;
static ExecutorFinish_hook_type prev_executor_finish = NULL;
static ProcessUtility_hook_type prev_process_utility = NULL;

/* Is the statement starting or running now a client's own? */
bool
nspg_guard_top_level(void)
{
	return nspg_guard_nesting == 0 && ActivePortal != NULL;
}

static void
nested_executor_run(QueryDesc *query_desc, ScanDirection direction, uint64 count, bool execute_once)
{
	if (nspg_guard_on_top_level_run && nspg_guard_top_level())
		nspg_guard_on_top_level_run();
	nspg_guard_nesting++;
	PG_TRY();
	{
		if (prev_executor_run)
			prev_executor_run(query_desc, direction, count, execute_once);
		else
			standard_ExecutorRun(query_desc, direction, count, execute_once);
	}
	PG_FINALLY();
	{
		nspg_guard_nesting--;
	}
	PG_END_TRY();
}

static void
nested_executor_finish(QueryDesc *query_desc)
{
	nspg_guard_nesting++;
	PG_TRY();
	{
		if (prev_executor_finish)
			prev_executor_finish(query_desc);
		else
			standard_ExecutorFinish(query_desc);
	}
	PG_FINALLY();
	{
		nspg_guard_nesting--;
	}
	PG_END_TRY();
}

/*
 * Utility statements that run no user code (no SQL, trigger, rule, function or event trigger),
 * so nothing can start inside them that the depth would have to tell from a client's statement:
 * they skip the count and its PG_TRY (most of this hook's cost for these short statements).
 * standard_ProcessUtility handles each in its first switch, which fires no event trigger, and:
 *  - BEGIN/START TRANSACTION, SAVEPOINT, RELEASE, ROLLBACK TO only change the transaction block's
 *    state (the subtransaction starts, ends or rolls back after the statement, in
 *    CommitTransactionCommand); BEGIN's options are settings, as below. Not COMMIT, END,
 *    ROLLBACK, PREPARE TRANSACTION, … PREPARED: ending a transaction may run deferred triggers
 *    and ON COMMIT actions.
 *  - SET/RESET (and SET TRANSACTION, SET SESSION AUTHORIZATION, SET ROLE) assign settings: their
 *    check and assign hooks are C (PostgreSQL's, or a preloaded library's: see below) and no
 *    SQL function can be one. Not SET CONSTRAINTS (a ConstraintsSetStmt), which fires deferred
 *    triggers.
 *  - SHOW reads a setting (C show hooks) and sends one text row.
 *  - DEALLOCATE drops a cached plan (memory only; no portal runs or closes).
 *  - LISTEN/UNLISTEN queue a change of the session's channels, applied at commit.
 * A hook installed before nspg_guard's (a library preloaded earlier) still runs inside: it is
 * the administrator's code, not a user's. nspg_guard's own code that runs inside (its check
 * hooks of `role` and of the preload settings) asks nothing of the depth.
 */
static bool
runs_no_user_code(Node *stmt)
{
	switch (nodeTag(stmt))
	{
		case T_TransactionStmt:
			switch (((TransactionStmt *) stmt)->kind)
			{
				case TRANS_STMT_BEGIN:
				case TRANS_STMT_START:
				case TRANS_STMT_SAVEPOINT:
				case TRANS_STMT_RELEASE:
				case TRANS_STMT_ROLLBACK_TO:
					return true;
				default:
					return false;
			}
		case T_VariableSetStmt:
		case T_VariableShowStmt:
		case T_DeallocateStmt:
		case T_ListenStmt:
		case T_UnlistenStmt:
			return true;
		default:
			return false;
	}
}

/* The counted call, out of line so that the statements above pass through a frame of a few
 * instructions (tail calls, no PG_TRY). */
static pg_noinline void
counted_process_utility(PlannedStmt *pstmt, const char *query_string, bool read_only_tree,
						ProcessUtilityContext context, ParamListInfo params,
						QueryEnvironment *query_env, DestReceiver *dest, QueryCompletion *qc)
{
	nspg_guard_nesting++;
	PG_TRY();
	{
		if (prev_process_utility)
			prev_process_utility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
		else
			standard_ProcessUtility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
	}
	PG_FINALLY();
	{
		nspg_guard_nesting--;
	}
	PG_END_TRY();
}

static void
nested_process_utility(PlannedStmt *pstmt, const char *query_string, bool read_only_tree,
					   ProcessUtilityContext context, ParamListInfo params,
					   QueryEnvironment *query_env, DestReceiver *dest, QueryCompletion *qc)
{
	if (!runs_no_user_code(pstmt->utilityStmt))
		counted_process_utility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
	else if (prev_process_utility)
		prev_process_utility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
	else
		standard_ProcessUtility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
}

/* Planning a client's statement (in a Bind message, before any portal) can run functions too
 * (IMMUTABLE ones are folded): nspg_guard's per-run work comes first there as well. */
static PlannedStmt *
top_level_planner(Query *parse, const char *query_string, int cursor_options, ParamListInfo bound_params)
{
	if (nspg_guard_on_top_level_run && nspg_guard_nesting == 0)
		nspg_guard_on_top_level_run();
	if (prev_planner)
		return prev_planner(parse, query_string, cursor_options, bound_params);
	return standard_planner(parse, query_string, cursor_options, bound_params);
}

/* PostgreSQL announces every function it is about to call; a fastpath call is the first one that
 * comes at depth 0 outside any portal in a message while the backend reports the fastpath state
 * (the functions the called one evaluates come after it, in the same message). */
static void
fastpath_watch(ObjectAccessType access, Oid class_id, Oid object_id, int sub_id, void *arg)
{
	static TimestampTz last_fastpath_message = 0;

	if (prev_object_access)
		prev_object_access(access, class_id, object_id, sub_id, arg);
	if (access == OAT_FUNCTION_EXECUTE && nspg_guard_nesting == 0 && ActivePortal == NULL &&
		MyBEEntry != NULL && MyBEEntry->st_state == STATE_FASTPATH && nspg_guard_on_fastpath_call &&
		GetCurrentStatementStartTimestamp() != last_fastpath_message)
	{
		last_fastpath_message = GetCurrentStatementStartTimestamp();
		nspg_guard_on_fastpath_call(object_id);
	}
}

/*
 * Installs the counting hooks; nspg_guard's own hooks are installed after these, so they run
 * first and see the depth of the statement they judge, not one more.
 */
void
nspg_guard_install_nesting(void)
{
	prev_executor_run = ExecutorRun_hook;
	ExecutorRun_hook = nested_executor_run;
	prev_executor_finish = ExecutorFinish_hook;
	ExecutorFinish_hook = nested_executor_finish;
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = nested_process_utility;
	prev_object_access = object_access_hook;
	object_access_hook = fastpath_watch;
	prev_planner = planner_hook;
	planner_hook = top_level_planner;
}

/*
 * PostgreSQL arms the statement timer when a statement starts, from statement_timeout as it is
 * then; an admin session whose timeout nspg_guard caps later (it was 0, or higher) gets its timer
 * here: armed if off, brought forward if it would fire later than the cap allows.
 */
void
nspg_guard_arm_statement_timeout(void)
{
	if (StatementTimeout <= 0)
		return;
	if (get_timeout_active(STATEMENT_TIMEOUT) &&
		get_timeout_finish_time(STATEMENT_TIMEOUT) <=
		TimestampTzPlusMilliseconds(GetCurrentTimestamp(), StatementTimeout))
		return;
	enable_timeout_after(STATEMENT_TIMEOUT, StatementTimeout);
}
