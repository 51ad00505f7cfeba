# Assertions and fixtures shared by the shell tests (sourced; not a test itself: test.sh runs only *.sh).
# Each assertion prints "ok: NAME" or "FAIL: NAME" with the output it looked at; `finish` exits
# non-zero when any assertion failed.
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
show() { sed 's/^/    | /' <<<"$1"; }

# expect NAME OUTPUT TEXT — OUTPUT contains the fixed string TEXT.
expect() {
    if grep -qF -- "$3" <<<"$2"; then pass "$1"; else fail "$1: expected \"$3\" in:"; show "$2"; fi
}
# expect_line NAME OUTPUT LINE — OUTPUT has a line that is exactly LINE.
expect_line() {
    if grep -qxF -- "$3" <<<"$2"; then pass "$1"; else fail "$1: expected the line \"$3\" in:"; show "$2"; fi
}
# reject NAME OUTPUT TEXT — OUTPUT does not contain the fixed string TEXT.
reject() {
    if grep -qF -- "$3" <<<"$2"; then fail "$1: did not expect \"$3\" in:"; show "$2"; else pass "$1"; fi
}
finish() {
    echo
    if [ "$failures" -ne 0 ]; then echo "$failures assertion(s) failed"; exit 1; fi
    echo "all assertions passed"
}

# The roles the admin-session and break-glass tests share: an admin, an engineer on call, a
# break-glass approver and an application role, with the policy's admin and break-glass roles.
SESSION_ROLES_SQL="CREATE ROLE ns_admin NOLOGIN; CREATE ROLE ns_breakglass_admin NOLOGIN; CREATE ROLE ns_breakglass_approver NOLOGIN;
     CREATE ROLE alice_admin LOGIN IN ROLE ns_admin; CREATE ROLE bob_oncall LOGIN;
     CREATE ROLE carol_approver LOGIN IN ROLE ns_breakglass_approver; CREATE ROLE app_user LOGIN"
