#!/usr/bin/env bash
# e2e_ha_ct_startup: e2e_ha_ct_resync's loss (conntrackd's port dropped into
# d3 while calls start) repaired by conntrackd's StartupResync instead of the
# bulk resend timer: d3's conntrackd, restarted once the drop is lifted, asks
# its peers for their tables and must hold every media flow's mark within
# 4.5 s. Sabotage: HA_CT_SED='s/StartupResync on/StartupResync off/'.
# Exit 0 pass, 1 fail, 77 skip.
E2E_CT_REPAIR=startup
LAB_PREFIX=sara-e2e-hcs-
. "$(dirname "${BASH_SOURCE[0]}")/e2e_ha_ct_resync.sh"
