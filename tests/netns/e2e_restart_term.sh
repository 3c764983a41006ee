#!/usr/bin/env bash
# e2e_restart_term: sarad stopped with SIGTERM mid-call and started again (an upgrade):
# the same calls and RTSP session as e2e_restart_kill keep their servers (restart_lib.sh).
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
LAB_PREFIX=sara-e2e-rt-
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/restart_lib.sh"
restart_run TERM e2e_restart_term
