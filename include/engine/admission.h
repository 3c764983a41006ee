/* admission.h - SA2C, the session-aware admission controller (DESIGN.md
 * section 6; paper section III.B, equations (1) to (4)). Pure: no I/O, no clock.
 *
 * Paper mapping:
 *  - eq (1), cluster load: admission_report_load() computes
 *      l_c = (alpha * mean(l_j) + (1 - alpha) * var(l_j)) / alpha
 *    (the paper's form divided by alpha, so that a cluster whose every
 *    server is fully loaded reads 1 rather than alpha, which would stay
 *    below T2 with the default alpha 0.7; alpha 0 means 4 * var(l_j))
 *    over the servers passed in (the available ones), mean and variance
 *    weighted by the servers' weights, so one server cannot move l_c more
 *    than its share of the cluster's capacity. The l_j are meant to be the
 *    short-term estimates of DESIGN.md section 7 (selector_estimate(), the
 *    paper's eq (6)-(8)), which makes l_c the short-term cluster load the
 *    paper asks for ("rather than instantaneous load feedbacks").
 *    x = max(l_d, l_c), l_d being the dispatcher's own load
 *    (admission_report_dispatcher_load()).
 *  - eq (2), drop probability (admission_refusal_probability()), following
 *    DESIGN.md where the paper's typesetting is garbled:
 *      new sessions:          0 if x <= T1, (x-T1)/(T2-T1) if T1 < x <= T2, 1 above T2;
 *      established sessions:  0 if x <= T3, (x-T3)/(C-T3)  if T3 < x < C,   1 at C and above;
 *    0 whatever x with admission.degrade false (the default): the servers'
 *    load is their signalling, which dropping an admitted call's media
 *    does not lighten (docs/experiments.md has the figures).
 *  - eq (3), "a rejection every T_{i+1} = (1-p) T_i": implemented as an
 *    independent Bernoulli(p) trial per decision from a seedable PRNG in the
 *    struct, which refuses the same expected share and needs no clock.
 *  - eq (4), moving thresholds, applied once per cluster report: when
 *    x > T2, T2 <- T2 - (x - T2) (linear); when x > T3, T3 <- T3 * (1 - (x - T3))
 *    (multiplicative; Delta is "the load excess", so T3 moves only above T3).
 *    T2 never goes below T1 (plus a small gap) and T3 never below T2 (plus
 *    a small gap), so T1 < T2 < T3 < C holds at all times. Both go back to
 *    their configured values once x < T1. T1 and C never move.
 *  - Reopening (not in the paper): the new-session refusal probability
 *    rises with eq (2) at once, holds while x is above T1, and below T1
 *    falls by at most report interval / reopen_s per report, so it takes
 *    reopen_s to go from refusing every new session to refusing none. Why: the servers' load reaches the dispatcher late (their
 *    own averaging window plus the report interval), so with the paper's
 *    instant reset, everything offered during that lag was admitted the
 *    moment x fell below T1, overloaded the cluster again and x swung
 *    between below T1 and C (the goodput experiment: a period of about
 *    3.5 s, every established session's media dropped at C). reopen_s 0 is
 *    the paper's behaviour.
 *  - Lead (not in the paper; admission.lead_s, 0 = off): a new session's
 *    load reaches the reports lead_s late, so for new sessions eq (2) reads
 *    x plus what the sessions admitted within the last lead_s will add
 *    beyond what those admitted in the lead_s before (whose load the
 *    reports show) take away as they finish; never less than x, since a
 *    load can outlast its sessions' arrival (a server's queue):
 *      x_new = x + max(0, b * (admitted in (now - lead_s, now] - admitted in (now - 2 lead_s, now - lead_s]))
 *    b, the load one admitted session adds, is learned at each report as
 *    x / (admitted in the window it reflects), smoothed, once that window
 *    holds ADMISSION_LEAD_MIN_SESSIONS sessions. Every new session admitted
 *    between reports adds b to x_new at once, so a burst closes admission
 *    before its load arrives (and only a report brings x_new back down).
 *    Established sessions and the zones follow x. The windows count the
 *    last ADMISSION_LEAD_HISTORY reports at most: enough for 2 lead_s =
 *    20 s from 80 ms report intervals up; shorter intervals cut the older
 *    window, which then reads fewer sessions, so a larger b: more
 *    refusal, not less. lead_s should be about the agents' averaging
 *    window plus one report interval (the default 1 s was measured with
 *    200 ms reports and a 1 s averaging window).
 *
 *  - Rate estimate (not in the paper; admission.estimate = "rate"): new
 *    sessions are paced under a rate R the reports adapt. A bucket refills
 *    at R a second and holds R * ADMISSION_RATE_BURST_S (at least 2); an
 *    admitted session takes one. eq (2) reads
 *      x_new = T1 + (T2 - T1) * max(0, 1 - 2 * tokens / bucket)
 *    (T2 below one token: a session takes a whole one), so a bucket at
 *    least half full admits, an empty one refuses, and the refusal rises in
 *    between (admission_advance refills it with the
 *    engine's clock).
 *    R follows what the servers serve: the sessions they answered
 *    (admission_note_answered: a 2xx to an INVITE, an RTSP PLAY's) over the
 *    last 2 lead_s. At each report, dt seconds after the previous one: x
 *    above T1 while more sessions were admitted than answered over that
 *    window (the servers have a backlog and answer at their capacity)
 *    sets R to that answered rate less ADMISSION_RATE_DRAIN_MAX *
 *    (x - T1) / (1 - T1) of it, which drains the backlog the faster the
 *    higher x is (and follows the servers up when they answer more).
 *    Otherwise (x at or below T1, or every admitted session answered: the
 *    servers keep up, a queue is passing) R grows by
 *    ADMISSION_RATE_GROWTH_PER_S * dt of itself while the sessions admitted
 *    over the last lead_s came to at least 0.9 R (the pace binds), probing
 *    for capacity; following the answers there would follow the admissions
 *    R paces itself, down and down.
 *    R starts at the first report where x is above T1 and the servers
 *    answered at least ADMISSION_LEAD_MIN_SESSIONS; until then x_new is the
 *    lead's. R never goes below 1 a second.
 *    Why: with servers whose load is a backlog (a queue that grows while
 *    more sessions arrive than they serve), x is the integral of the
 *    overload seen about a second late, and eq (2) on it swings between
 *    refusing all and admitting all (the goodput experiment: x from 0.1 to
 *    1 every 1.5 s, 72 % of capacity); a limit on the calls in progress
 *    instead lets the calls that end together be replaced together, and
 *    the burst of requests fills the queues. A server's capacity is a rate
 *    of sessions; pacing sends them evenly, and the reports only move the
 *    rate, slowly, to where x sits at T1. Established sessions and the
 *    zones follow x.
 *
 *  - Window estimate (not in the paper; admission.estimate = "window"):
 *    new sessions are admitted while fewer than W admitted sessions await
 *    their server's first answer, or fewer than ADMISSION_WINDOW_BURST W
 *    while the oldest of those has waited less than answer_delay_s (the
 *    servers keep up: a burst into an idle cluster is not a backlog), and
 *    refused otherwise, and while x is at C (servers that report
 *    themselves full for a reason the window cannot see). What the window
 *    counts is known at once, from the signalling sarad sees: a session
 *    awaits from its admission until the server's first response above
 *    100 (180, 183, 2xx, or a final refusal the gateway announces), the
 *    client's ACK, or its end; one that waits longer than
 *    ADMISSION_WINDOW_TIMEOUT_FACTOR * answer_delay_s (at least 2 s)
 *    stops counting (lost, or answered where sarad cannot see). W follows
 *    Little's law: the rate at which the servers answered over the last
 *    2 lead_s times admission.answer_delay_s, and at least
 *    ADMISSION_WINDOW_MIN_PER_SERVER per available server:
 *      W = max(min_per_server * n, answered/s * answer_delay_s)
 *    Why: a server with a backlog answers at its capacity whatever is
 *    offered, so the answered rate measures the capacity the moment there
 *    is overload, and the awaited count is the backlog itself, without the
 *    reports' second of delay. Keeping it at W keeps every server busy
 *    (it always has the next session queued) while the answer delay stays
 *    near answer_delay_s, far inside a caller's patience. A 100 Trying
 *    does not end the wait: a proxy's transaction layer sends it before
 *    the server did the work. R is set to the answered rate at each report
 *    (RFC 7339's reduction reads it; the bucket is not used). Established
 *    sessions and the zones follow x. Assumes the servers' first answer
 *    follows their processing: with sara-gw, a proxy's 180 does; without
 *    it, only the client's ACK is seen, after a callee's ringing, and the
 *    window would read ringing as backlog (use the rate estimate there).
 *    Per server (admission.window_per_server, on by default): a new
 *    session whose server is known (the selection picks it first) is
 *    decided by the same rule on that server's share of W instead: fewer
 *    than max(ADMISSION_WINDOW_MIN_PER_SERVER, W / n) (n available servers)
 *    of its sessions await, or fewer than ADMISSION_WINDOW_BURST times that
 *    while its oldest has waited less than answer_delay_s; x at C still
 *    refuses, and the report's p is not held until the next report unless
 *    reopen_s asks for a ramp (the share moves with every answer). The
 *    shares add up to W. Why: the sessions that cannot be refused (INVITEs
 *    inside TCP trunks, admission_charge) are pinned to their connection's
 *    server; a server whose trunks bring more than its share keeps the
 *    cluster's window full with its own slow answers, and the other
 *    servers, with room, would get no refusable session at all (the
 *    goodput experiment with 4 trunks on 3 servers, one with two: the UDP
 *    calls starved, 0.67 to 0.73 of capacity). An equal share per server
 *    is an equal backlog: a faster server clears its share sooner and gets
 *    the next session sooner.
 *
 * Bad input: a load that is NaN, infinite or negative is treated as 1 (a
 * broken agent must not make the cluster look idle) and counted as
 * load_invalid; a load above 1 is clamped to 1 and counted as load_clamped;
 * a server whose weight is not a finite positive number is left out and
 * counted. A report older than the previous one is ignored and counted;
 * a report with no usable server is ignored and counted. Before the first
 * report the load is 0 (everything is admitted). */
#ifndef SARA_ADMISSION_H
#define SARA_ADMISSION_H

#include <stdbool.h>
#include <stdint.h>

#include "dpi/enum_list.h"
#include "engine/config.h"
#include "engine/counters.h"

enum admission_kind { ADMIT_NEW_SESSION = 0, ADMIT_ESTABLISHED, ADMIT_KIND_COUNT };

/* Where x stands against the current thresholds; OFF when disabled. */
enum admission_zone {
	ADMISSION_ZONE_OFF = 0,  /* admission disabled: everything admitted */
	ADMISSION_ZONE_NORMAL,   /* x <= T1: everything admitted */
	ADMISSION_ZONE_SHED,     /* T1 < x <= T2: new sessions refused with p */
	ADMISSION_ZONE_CLOSED,   /* T2 < x <= T3: new sessions refused, established admitted */
	ADMISSION_ZONE_DEGRADE,  /* T3 < x < C: established degraded with p */
	ADMISSION_ZONE_FULL,     /* x >= C: everything refused */
	ADMISSION_ZONE_COUNT
};

enum admission_verdict { ADMISSION_ADMITTED = 0, ADMISSION_REFUSED, ADMISSION_VERDICT_COUNT };

/* Counted input events (reports and their refusals, threshold moves), each
 * with its counter. */
#define ADMISSION_EVENT_LIST(X)                                              \
	/* cluster reports taken into account */                             \
	X(ADMISSION_EV_REPORT, COUNTER_ADMISSION_REPORTS)                    \
	/* now_ms earlier than the previous report: ignored */               \
	X(ADMISSION_EV_REPORT_STALE, COUNTER_ADMISSION_REPORTS_STALE)        \
	/* no server with a usable weight: ignored */                        \
	X(ADMISSION_EV_REPORT_EMPTY, COUNTER_ADMISSION_REPORTS_EMPTY)        \
	/* a load above 1, taken as 1 */                                     \
	X(ADMISSION_EV_LOAD_CLAMPED, COUNTER_ADMISSION_LOAD_CLAMPED)         \
	/* NaN, infinite or negative load, taken as 1 */                     \
	X(ADMISSION_EV_LOAD_INVALID, COUNTER_ADMISSION_LOAD_INVALID)         \
	/* a server left out for its weight */                               \
	X(ADMISSION_EV_WEIGHT_INVALID, COUNTER_ADMISSION_WEIGHT_INVALID)     \
	/* reports that moved T2 and/or T3 down */                           \
	X(ADMISSION_EV_THRESHOLDS_MOVED, COUNTER_ADMISSION_THRESHOLDS_MOVED) \
	/* reports that put T2 and T3 back */                                \
	X(ADMISSION_EV_THRESHOLDS_RESET, COUNTER_ADMISSION_THRESHOLDS_RESET)  \
	/* window estimate: an awaited answer never seen in time */          \
	X(ADMISSION_EV_ANSWER_WAIT_EXPIRED, COUNTER_ADMISSION_ANSWER_WAITS_EXPIRED)

enum admission_event { ADMISSION_EVENT_LIST(ENUM_LIST_ID) ADMISSION_EV_COUNT };

struct admission_thresholds {
	double t1, t2, t3, c;
};

/* New sessions admitted between two cluster reports, for the lead. */
#define ADMISSION_LEAD_HISTORY 256
#define ADMISSION_LEAD_MIN_SESSIONS 5
#define ADMISSION_CLIENT_REDUCTION_MAX 0.95
#define ADMISSION_RATE_DRAIN_MAX 0.1
#define ADMISSION_RATE_GROWTH_PER_S 0.2
#define ADMISSION_RATE_BURST_S 0.25
#define ADMISSION_WINDOW_MIN_PER_SERVER 2
#define ADMISSION_WINDOW_BURST 4
#define ADMISSION_WINDOW_TIMEOUT_FACTOR 8
#define ADMISSION_WINDOW_TIMEOUT_MIN_MS 2000
/* Sessions the window follows at once; more are counted as awaiting
 * until the oldest are answered (a window is never this large). */
#define ADMISSION_AWAITED_MAX 4096
/* The same, per server (window_per_server). */
#define ADMISSION_AWAITED_PER_SERVER_MAX 128
/* The sessions awaiting one server's first answer (window_per_server):
 * when each was admitted, oldest first, a ring as the cluster's. */
struct admission_server_waits {
	uint64_t ms[ADMISSION_AWAITED_PER_SERVER_MAX];
	uint32_t head, count;
};
struct admission_interval {
	uint64_t end_ms;   /* the report that closed it */
	uint32_t admitted;
	uint32_t answered; /* sessions the servers answered (rate estimate) */
	uint32_t arrived;  /* new sessions decided, admitted or refused */
	uint32_t first_answers; /* sessions whose wait for an answer ended (window estimate) */
};

struct admission {
	bool enabled;
	double alpha;                          /* eq (1): weight of the mean against the variance */
	double reopen_s;                       /* 0: the refusal of new sessions follows x at once */
	double lead_s;                         /* 0: new sessions follow x, not x_new */
	double lead_delta;                     /* x_new - l_c before clamping (see Lead above); 0 when off */
	double load_per_session;               /* b; 0 until learned */
	bool estimate_rate;                    /* admission.estimate = "rate" */
	bool degrade;                          /* admission.degrade: established sessions refused above T3 */
	bool estimate_window;                  /* admission.estimate = "window" */
	double answer_delay_s;                 /* admission.answer_delay_s */
	double window;                         /* W, sessions awaiting an answer at most */
	unsigned servers;                      /* available servers at the last report */
	uint32_t first_answers_since_report;
	/* When each awaited session was admitted, oldest first: a ring. The
	 * answers are not matched to sessions (a count is all W needs): each
	 * takes the oldest, which also ages the lost ones out first. */
	uint64_t awaited_ms[ADMISSION_AWAITED_MAX];
	uint32_t awaited_head, awaited_count;
	bool window_per_server;                /* admission.window_per_server */
	struct admission_server_waits server_waits[SARA_MAX_SERVERS]; /* by server index */
	uint64_t now_ms;                       /* the latest admission_advance */
	double rate_limit;                     /* R, sessions a second; 0 until learned */
	double tokens;                         /* the pacing bucket */
	uint64_t tokens_ms;                    /* when it was last refilled */
	uint32_t admitted_since_report;
	uint32_t answered_since_report;
	uint32_t arrived_since_report;
	double client_reduction;               /* RFC 7339's, rate estimate (admission_client_reduction) */
	struct admission_interval intervals[ADMISSION_LEAD_HISTORY]; /* a ring, newest at intervals_head - 1 */
	uint32_t intervals_head, intervals_count;
	double refuse_new_floor;               /* the reopening ramp: p for new sessions is at least this */
	struct admission_thresholds configured; /* as the operator set them */
	struct admission_thresholds current;    /* after the moves of eq (4) */
	double cluster_load;    /* l_c of the last report, 0..1 */
	double dispatcher_load; /* l_d, 0..1 */
	double load;            /* x = max(l_d, l_c) */
	bool have_report;
	uint64_t first_report_ms;
	uint64_t last_report_ms;
	uint64_t rng_state;     /* splitmix64 */
	uint64_t decisions[ADMISSION_VERDICT_COUNT][ADMIT_KIND_COUNT][ADMISSION_ZONE_COUNT];
	uint64_t events[ADMISSION_EV_COUNT];
};

/* Copies enabled, T1..C and alpha from cfg (config_load has checked
 * 0 <= T1 < T2 < T3 < C <= 1); seeds the PRNG with a fixed value. */
void admission_init(struct admission *adm, const struct sara_config *cfg);
/* A reload: enabled, alpha, reopen_s and T1..C from cfg. The loads, the
 * reopening ramp, the PRNG and the counters are kept; thresholds moved by
 * eq (4) go back to the new configured ones until the next report. */
void admission_reconfigure(struct admission *adm, const struct sara_config *cfg);
/* Reseeds the PRNG (tests: a fixed seed; sarad: a random one). */
void admission_seed(struct admission *adm, uint64_t seed);

/* One round of node load vectors, each reduced to 0..1, for the n servers
 * that are available now (failed and draining ones left out). weights may
 * be NULL (all equal). Updates l_c (eq 1), x, and moves or resets the
 * thresholds (eq 4). now_ms is any monotonic clock in milliseconds. */
void admission_report_load(struct admission *adm, uint64_t now_ms, const double *server_loads,
			   const double *weights, unsigned n);
/* The dispatcher's own load l_d in 0..1 (same clamping); updates x. */
void admission_report_dispatcher_load(struct admission *adm, double load);

/* True when the packet or session may pass. Every call is counted by
 * verdict, kind and zone. Disabled: always true (zone OFF). */
bool admission_decide(struct admission *adm, enum admission_kind kind);
/* admission_decide for a new session that would go to server (an index;
 * -1: not known yet). With the window estimate and window_per_server, it
 * is decided on that server's share of the window (Window estimate). */
bool admission_decide_on(struct admission *adm, enum admission_kind kind, int server);

/* A new session admitted without a decision (an INVITE inside a pinned
 * TCP connection: refusing it would not take back the bytes reassembly
 * took): counted as admitted (kind new, the current zone) and as arrived,
 * and under the rate estimate it takes its token, down to minus a bucket,
 * so that the sessions that can be refused make room for it. */
void admission_charge(struct admission *adm);

/* The rate estimate's bucket refilled up to now_ms (the engine's clock,
 * before it decides a new session). */
void admission_advance(struct admission *adm, uint64_t now_ms);
/* A session the servers answered (the rate estimate's measure of what they
 * serve). */
void admission_note_answered(struct admission *adm);

/* Window estimate: a session just admitted now awaits its server's first
 * answer (a session that can be answered: not a lone transaction); server
 * is its server's index (-1: none, counted for the cluster only). */
void admission_note_awaited(struct admission *adm, uint64_t now_ms, int server);
/* Window estimate: one awaited session's wait ended (answered, refused by
 * its server, or ended); server as for admission_note_awaited. */
void admission_note_first_answer(struct admission *adm, int server);
/* Sessions awaiting an answer now (window estimate; 0 otherwise). */
uint32_t admission_awaited(const struct admission *adm);
/* Those of them awaiting server's answer (window_per_server; 0 otherwise). */
uint32_t admission_server_awaited(const struct admission *adm, int server);
/* A server's share of W as it applies now (window_per_server; 0 otherwise). */
double admission_server_window(const struct admission *adm);
/* W as it applies now, its floor included (window estimate; 0 otherwise). */
double admission_answer_window(const struct admission *adm);

/* RFC 7339's reduction (0..1) for clients that honour it. With the rate
 * estimate's R learned, each report (dt seconds after the previous one)
 * moves it min(1, dt / lead_s) of the way from the one told so far (told,
 * capped at ADMISSION_CLIENT_REDUCTION_MAX so that what still arrives
 * measures the clients' rate) to the share of their own rate they should
 * shed so that what arrives is what R admits,
 *   1 - R * (1 - told) / arrived
 * (arrived: new sessions decided a second over the last lead_s, their
 * rate already reduced by told), 0 when that sheds less than a session a
 * second. Reports a second apart converge in one step; faster ones move by
 * a share of the window they measure, which keeps the loop from swinging.
 * Clients that ignore oc make it settle where the honouring ones shed for
 * them too (arrived = R). Under the window estimate R there is the rate
 * the window admitted while it refused sessions (the servers' capacity),
 * and the wanted reduction is 0 while it refused less than one a second:
 * the clients shed more than needed. Otherwise eq (2)'s refusal probability for a new
 * session.
 * Why not eq (2)'s p under the rate estimate: it is the bucket's level, 0
 * or 1 within a fraction of a second; told to shed 100 % for a validity
 * period, the honouring clients send nothing, then everything (the
 * goodput experiment at 3x: 61 to 89 % of capacity, against 89 to 94 %
 * for clients that ignore oc). */
double admission_client_reduction(const struct admission *adm);

/* x_new: the load eq (2) reads for new sessions (x when the lead is off). */
double admission_new_session_load(const struct admission *adm);
/* The refusal probability eq (2) gives now for kind (0 when disabled). */
double admission_refusal_probability(const struct admission *adm, enum admission_kind kind);
enum admission_zone admission_zone(const struct admission *adm);
const char *admission_zone_name(enum admission_zone zone);
uint64_t admission_count(const struct admission *adm, enum admission_verdict verdict,
			 enum admission_kind kind, enum admission_zone zone);

/* The counter of one decision (admission_admitted_new_shed...); COUNTER_NONE
 * out of range. */
enum counter_id admission_decision_counter(enum admission_verdict verdict, enum admission_kind kind,
					   enum admission_zone zone);
/* Writes every decision and input counter into out (COUNTER_SCOPE_ADMISSION:
 * admission_refused_new_shed, admission_load_clamped...). */
void admission_get_counters(const struct admission *adm, struct counter_set *out);

#endif
