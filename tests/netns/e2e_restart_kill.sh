#!/usr/bin/env bash
# e2e_restart_kill: sarad killed with SIGKILL mid-call and started again: 3 SIP calls over
# UDP, 3 over TCP and an RTSP session in progress keep their servers for every later
# request (re-INVITE, UPDATE, BYE; PAUSE, PLAY, TEARDOWN) and their media (restart_lib.sh).
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
LAB_PREFIX=sara-e2e-rk-
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/restart_lib.sh"
restart_run KILL e2e_restart_kill
