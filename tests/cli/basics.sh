#!/usr/bin/env bash
# The program's global behaviour: --version, --help, unknown commands and
# options give a clear error and exit status 2.
set -uo pipefail
fail() { echo "FAIL: $*"; exit 1; }

"$PQEVAL" --version | grep -Eq '^pqeval [0-9]+\.[0-9]+\.[0-9]+$' || fail "--version"
"$PQEVAL" --help | grep -q 'commands:' || fail "--help"

err=$("$PQEVAL" frobnicate 2>&1 >/dev/null); rc=$?
[ $rc -eq 2 ] || fail "unknown command exit $rc"
grep -q "pqeval: error: unknown command 'frobnicate'" <<<"$err" || fail "message: $err"

err=$("$PQEVAL" --bogus 2>&1 >/dev/null); rc=$?
[ $rc -eq 2 ] || fail "unknown option exit $rc"
grep -q "unknown option '--bogus'" <<<"$err" || fail "message: $err"

"$PQEVAL" >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "no command exit $rc"
echo "basics: ok"
