/*
 * How deep the current statement is nested: 0 while PostgreSQL starts or judges a client's own
 * statement, more inside functions, DO blocks, procedures, triggers and utility statements that
 * run others (EXPLAIN ANALYZE, CREATE TABLE AS, EXECUTE). pg_stat_statements counts the same way.
 *
 * This is C because the count must come back down when an error leaves the statement, and only
 * PG_TRY/PG_FINALLY sees every error without re-raising it differently: a Rust frame could only
 * re-raise a copy of the error (losing its cursor position and object names).
 */
#include "postgres.h"

#include "executor/executor.h"
#include "tcop/utility.h"
#include "utils/timeout.h"
#include "storage/proc.h"

int nspg_guard_nesting = 0;

static ExecutorRun_hook_type prev_executor_run = NULL;
static ExecutorFinish_hook_type prev_executor_finish = NULL;
static ProcessUtility_hook_type prev_process_utility = NULL;

static void
nested_executor_run(QueryDesc *query_desc, ScanDirection direction, uint64 count, bool execute_once)
{
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

static void
nested_process_utility(PlannedStmt *pstmt, const char *query_string, bool read_only_tree,
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
}

/*
 * PostgreSQL arms the statement timer when a statement starts, from statement_timeout as it is
 * then; an admin session whose timeout nspg_guard caps later (it was 0) gets its timer here.
 */
void
nspg_guard_arm_statement_timeout(void)
{
	if (StatementTimeout > 0 && !get_timeout_active(STATEMENT_TIMEOUT))
		enable_timeout_after(STATEMENT_TIMEOUT, StatementTimeout);
}
