/* ctl.h - what every sara-ctl module shares: the name its messages start
 * with and its exit statuses. */
#ifndef SARA_CTL_H
#define SARA_CTL_H

#define CTL_PROGRAM "sara-ctl"

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_NO_NFT_QUEUE 3

#endif
