#!/usr/bin/env bash
# e2e_ha_rtsp: RTSP streams (UDP and interleaved media, connections kept, carried
# on and resumed) across a dispatcher failover and return, two dispatchers with
# selection hash and conntrackd, no session store (ha_rtsp_lib.sh says what is
# checked). E2E_HA_RTSP_SELECTION (default hash) and E2E_HA_RTSP_CT=off
# (conntrackd's port dropped) exist to break it: round-robin without conntrackd
# must fail. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
LAB_PREFIX=sara-e2e-hartsp-
HA_SELECTION=${E2E_HA_RTSP_SELECTION:-hash}
. "$(dirname "${BASH_SOURCE[0]}")/ha_rtsp_lib.sh"
