#!/usr/bin/env bash
# e2e_ha_rtsp_replica: e2e_ha_rtsp's streams and failover (ha_rtsp_lib.sh) with
# session replication through Redis (ha.session_store = "redis", a password on
# every store) and selection round-robin, which no dispatcher can derive: the
# survivor knows the victim's RTSP sessions, and their servers, from the
# victim's store only. E2E_HA_RTSP_STORE=off is the control run, which must
# fail; E2E_HA_RTSP_SELECTION and E2E_HA_RTSP_CT=off as in e2e_ha_rtsp.
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
LAB_PREFIX=sara-e2e-hartspr-
HA_SELECTION=${E2E_HA_RTSP_SELECTION:-round-robin}
HA_SESSION_STORE=${E2E_HA_RTSP_STORE:-redis}
HA_REDIS_PASSWORD="sara lab store"
. "$(dirname "${BASH_SOURCE[0]}")/ha_rtsp_lib.sh"
