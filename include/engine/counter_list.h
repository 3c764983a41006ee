/* counter_list.h - every counter sara reports, once: X(ID, name, KIND,
 * scopes, help). The name is the public interface (control JSON, logs,
 * tests, docs): never rename one. Within a scope, table order is report
 * order. Expanded by counters.h (the ids) and counters.c (the table). */
#ifndef SARA_COUNTER_LIST_H
#define SARA_COUNTER_LIST_H

/* The 24 decisions of admission control for one verdict and kind, by zone. */
#define COUNTER_ADMISSION_ZONES(X, VERDICT, KIND, verdict, kind, what)                                          \
	X(ADMISSION_##VERDICT##_##KIND##_OFF, "admission_" verdict "_" kind "_off", TOTAL, COUNTER_IN_ADMISSION,   \
	  what " " verdict " with admission control off")                                                       \
	X(ADMISSION_##VERDICT##_##KIND##_NORMAL, "admission_" verdict "_" kind "_normal", TOTAL,                  \
	  COUNTER_IN_ADMISSION, what " " verdict " in zone normal (x <= T1)")                                    \
	X(ADMISSION_##VERDICT##_##KIND##_SHED, "admission_" verdict "_" kind "_shed", TOTAL, COUNTER_IN_ADMISSION, \
	  what " " verdict " in zone shed (T1 < x <= T2)")                                                      \
	X(ADMISSION_##VERDICT##_##KIND##_CLOSED, "admission_" verdict "_" kind "_closed", TOTAL,                  \
	  COUNTER_IN_ADMISSION, what " " verdict " in zone closed (T2 < x <= T3)")                               \
	X(ADMISSION_##VERDICT##_##KIND##_DEGRADE, "admission_" verdict "_" kind "_degrade", TOTAL,                \
	  COUNTER_IN_ADMISSION, what " " verdict " in zone degrade (T3 < x < C)")                                \
	X(ADMISSION_##VERDICT##_##KIND##_FULL, "admission_" verdict "_" kind "_full", TOTAL, COUNTER_IN_ADMISSION, \
	  what " " verdict " in zone full (x >= C)")

/* The verdicts of one action, by reason (enum verdict_reason). */
#define COUNTER_VERDICT_REASONS(X, ACTION, scope, what)                                                     \
	X(ACTION##_SESSION, "session", EVENTS, scope, what " by the flow's session")                         \
	X(ACTION##_CONNECTION, "connection", EVENTS, scope,                                                   \
	  what " by a TCP connection pinned before its session is known")                                    \
	X(ACTION##_UNPREDICTED, "unpredicted", EVENTS, scope,                                                 \
	  what " with no session, placed by a hash of the source address")                                   \
	X(ACTION##_NOT_VIP, "not_vip", EVENTS, scope, what " not addressed to the cluster")                  \
	X(ACTION##_NOT_IP, "not_ip", EVENTS, scope, what " undecodable, under the malformed policy")         \
	X(ACTION##_FRAGMENT_HELD, "fragment_held", EVENTS, scope, what " IP fragments held for reassembly")  \
	X(ACTION##_MALFORMED, "malformed", EVENTS, scope, what " bad signalling with no session to follow")  \
	X(ACTION##_TABLE_FULL, "table_full", EVENTS, scope, what " a full flow or session table")            \
	X(ACTION##_NO_SERVER, "no_server", EVENTS, scope, what " no server available")                       \
	X(ACTION##_ADMISSION, "admission", EVENTS, scope, what " refused by admission control")

#define COUNTER_LIST(X)                                                                                       \
	/* The engine's statistics (engine_get_stats). */                                                    \
	X(ENGINE_PACKETS, "packets", TOTAL, COUNTER_IN_ENGINE_STATS, "inbound datagrams the engine decided")  \
	X(ENGINE_BYTES, "bytes", TOTAL, COUNTER_IN_ENGINE_STATS, "bytes of those datagrams")                 \
	X(ENGINE_FLOWS_CREATED, "flows_created", TOTAL, COUNTER_IN_ENGINE_STATS, "flows entered in the table") \
	X(ENGINE_SESSIONS_CREATED, "sessions_created", TOTAL, COUNTER_IN_ENGINE_STATS, "sessions started")    \
	X(ENGINE_SESSIONS_ENDED, "sessions_ended", TOTAL, COUNTER_IN_ENGINE_STATS,                            \
	  "sessions ended by their signalling (BYE, TEARDOWN...)")                                           \
	X(ENGINE_SESSIONS_EXPIRED, "sessions_expired", TOTAL, COUNTER_IN_ENGINE_STATS,                        \
	  "sessions forgotten after their idle timeout")                                                     \
	X(ENGINE_FLOWS_EXPIRED, "flows_expired", TOTAL, COUNTER_IN_ENGINE_STATS,                              \
	  "flows forgotten after their idle timeout")                                                        \
	X(ENGINE_PREDICTIONS_MADE, "predictions_made", TOTAL, COUNTER_IN_ENGINE_STATS,                        \
	  "media flows expected from signalling")                                                            \
	X(ENGINE_PREDICTIONS_HIT, "predictions_hit", TOTAL, COUNTER_IN_ENGINE_STATS,                          \
	  "media flows that arrived as expected")                                                            \
	X(ENGINE_FLOWS_IN_USE, "flows_in_use", GAUGE, COUNTER_IN_ENGINE_STATS, "flows in the table now")      \
	X(ENGINE_FLOWS_CAPACITY, "flows_capacity", GAUGE, COUNTER_IN_ENGINE_STATS, "the flow table's capacity") \
	X(ENGINE_SESSIONS_IN_USE, "sessions_in_use", GAUGE, COUNTER_IN_ENGINE_STATS, "sessions followed now") \
	X(ENGINE_SESSIONS_CAPACITY, "sessions_capacity", GAUGE, COUNTER_IN_ENGINE_STATS,                      \
	  "the session table's capacity")                                                                    \
	X(ENGINE_TCP_STREAMS_IN_USE, "tcp_streams_in_use", GAUGE, COUNTER_IN_ENGINE_STATS,                    \
	  "TCP reassembly streams in use now")                                                               \
	X(ENGINE_MEMORY_BYTES, "memory_bytes", GAUGE, COUNTER_IN_ENGINE_STATS,                                \
	  "memory the engine reserved for its tables")                                                       \
                                                                                                              \
	/* The engine's events (and the gateway's, where both inspect signalling). */                        \
	X(PACKET_FRAGMENT, "fragment", EVENTS, COUNTER_IN_ENGINE, "a reassembled datagram still a fragment")  \
	X(PACKET_TRUNCATED, "truncated", EVENTS, COUNTER_IN_ENGINE, "datagrams shorter than their headers say") \
	X(PACKET_MALFORMED, "malformed", EVENTS, COUNTER_IN_ENGINE, "datagrams with invalid IP or L4 headers") \
	X(PACKET_UNSUPPORTED, "unsupported", EVENTS, COUNTER_IN_ENGINE,                                       \
	  "datagrams of a protocol sara does not decide (passed)")                                           \
	X(FRAGMENT_DROPPED, "fragment_dropped", EVENTS, COUNTER_IN_ENGINE,                                     \
	  "IP fragments dropped by reassembly (limits, overlaps)")                                            \
	X(ICMP_ERROR_FOLLOWED, "icmp_error_followed", EVENTS, COUNTER_IN_ENGINE,                              \
	  "ICMP errors to a VIP sent to the server of the flow they quote")                                  \
	X(ICMP_ERROR_NO_FLOW, "icmp_error_no_flow", EVENTS, COUNTER_IN_ENGINE,                                \
	  "ICMP errors to a VIP quoting no known flow, placed by the client's address hash")                 \
	X(ICMP_ERROR_MALFORMED, "icmp_error_malformed", EVENTS, COUNTER_IN_ENGINE,                            \
	  "ICMP errors to a VIP whose quoted datagram cannot be read (passed unmarked)")                      \
	X(ICMP_ERROR_QUOTE_UNSUPPORTED, "icmp_error_quote_unsupported", EVENTS, COUNTER_IN_ENGINE,            \
	  "ICMP errors to a VIP quoting a datagram without ports (passed unmarked)")                          \
	X(FLOW_TABLE_FULL, "flow_table_full", EVENTS, COUNTER_IN_ENGINE | COUNTER_IN_GATEWAY,                 \
	  "new flows that found the flow table full")                                                        \
	X(SESSION_TABLE_FULL, "session_table_full", EVENTS, COUNTER_IN_ENGINE,                                \
	  "new sessions that found the session table full")                                                  \
	X(NO_SERVER_AVAILABLE, "no_server_available", EVENTS, COUNTER_IN_ENGINE,                              \
	  "new sessions refused: no server available")                                                       \
	X(ADMISSION_REFUSED, "admission_refused", EVENTS, COUNTER_IN_ENGINE,                                  \
	  "new sessions refused by admission control")                                                       \
	X(CALL_LIMIT_REFUSED, "call_limit_refused", EVENTS, COUNTER_IN_ENGINE,                                \
	  "new sessions refused: every server at its call limit (admission.policy call-limit)")                \
	X(TCP_SYN_REFUSED, "tcp_syn_refused", EVENTS, COUNTER_IN_ENGINE,                                      \
	  "SIP connections refused at their SYN: every new session refused (x above T2)")                    \
	X(ADMISSION_ACK_ABSORBED, "admission_ack_absorbed", EVENTS, COUNTER_IN_ENGINE,                        \
	  "ACKs of a refused INVITE's 503 dropped without a session")                                        \
	X(SIP_NO_SESSION, "sip_no_session", EVENTS, COUNTER_IN_ENGINE,                                        \
	  "SIP messages of no known session that cannot start one")                                          \
	X(RTSP_NO_SESSION, "rtsp_no_session", EVENTS, COUNTER_IN_ENGINE,                                      \
	  "RTSP messages of no known session that cannot start one")                                         \
	X(SESSIONS_ADOPTED, "sessions_adopted", EVENTS, COUNTER_IN_ENGINE,                                    \
	  "sessions begun elsewhere taken up by their hashed server (selection.algorithm hash)")            \
	X(ENDING_REQUESTS_AWAITED, "ending_requests_awaited", EVENTS, COUNTER_IN_ENGINE,                      \
	  "BYEs and CANCELs whose session waits for their final response (or Timer F)")                      \
	X(ENDING_REQUESTS_ANSWERED, "ending_requests_answered", EVENTS, COUNTER_IN_ENGINE,                    \
	  "BYEs and CANCELs whose final response was seen: their session lingers, then ends")                \
	X(ENDING_REQUESTS_UNANSWERED, "ending_requests_unanswered", EVENTS, COUNTER_IN_ENGINE,                \
	  "sessions ended by Timer F, their BYE or CANCEL never answered")                                   \
	X(RTSP_CONNECTION_AFFINITY, "rtsp_connection_affinity", EVENTS, COUNTER_IN_ENGINE,                    \
	  "new RTSP connections sent to the server of their client's live RTSP session")                     \
	X(RTSP_CONNECTION_JOINED, "rtsp_connection_joined", EVENTS, COUNTER_IN_ENGINE,                        \
	  "RTSP connections continuing an earlier connection's session (same Session id), joined to it")     \
	X(RTSP_CONNECTION_NOT_JOINED, "rtsp_connection_not_joined", EVENTS, COUNTER_IN_ENGINE,                \
	  "RTSP connections continuing their client's session that is on another server (kept apart)")       \
	X(RTSP_CONNECTION_MOVED_TO_SESSION, "rtsp_connection_moved_to_session", EVENTS, COUNTER_IN_ENGINE,    \
	  "RTSP connections met mid-stream, moved at their first segment to the server of the session it names") \
	X(MEDIA_CLIENT_NAMES_CLUSTER, "media_client_names_cluster", EVENTS, COUNTER_IN_ENGINE,                \
	  "client media streams naming a cluster address (ignored)")                                         \
	X(MEDIA_SERVER_DIRECT, "media_server_direct", EVENTS, COUNTER_IN_ENGINE,                              \
	  "server media streams naming a server's own address, not a VIP (ignored)")                         \
	X(MEDIA_OUTSIDE_CLUSTER, "media_outside_cluster", EVENTS, COUNTER_IN_ENGINE,                          \
	  "server media streams naming an address outside the cluster (ignored)")                            \
	X(MEDIA_STREAMS_OVER_LIMIT, "media_streams_over_limit", EVENTS, COUNTER_IN_ENGINE | COUNTER_IN_GATEWAY, \
	  "media streams beyond a session's stream limit (ignored)")                                         \
	X(FLOW_UNPREDICTED, "flow_unpredicted", EVENTS, COUNTER_IN_ENGINE,                                    \
	  "media flows no signalling predicted, placed by source hash")                                      \
	X(FLOWS_KEPT_BY_KERNEL, "flows_kept_by_kernel", EVENTS, COUNTER_IN_ENGINE,                            \
	  "idle flow timeouts deferred: the kernel still forwards the flow by connmark")                     \
	X(TCP_HANDSHAKE_ONLY_EXPIRED, "tcp_handshake_only_expired", EVENTS, COUNTER_IN_ENGINE,                \
	  "RTSP connections that expired without a message, with their session")                            \
	X(TCP_STREAMS_FULL, "tcp_streams_full", EVENTS, COUNTER_IN_ENGINE | COUNTER_IN_GATEWAY,               \
	  "TCP signalling flows left unreassembled: no stream free")                                         \
	X(TCP_STREAM_OVERFLOW, "tcp_stream_overflow", EVENTS, COUNTER_IN_ENGINE | COUNTER_IN_GATEWAY,         \
	  "TCP segments dropped from reassembly: stream buffer full")                                        \
	X(TCP_STREAM_OUT_OF_ORDER_LIMIT, "tcp_stream_out_of_order_limit", EVENTS,                             \
	  COUNTER_IN_ENGINE | COUNTER_IN_GATEWAY,                                                            \
	  "TCP streams resynchronised after too many out-of-order segments")                                 \
	X(TCP_STREAM_NO_MEMORY, "tcp_stream_no_memory", EVENTS, COUNTER_IN_ENGINE | COUNTER_IN_GATEWAY,       \
	  "TCP segments dropped from reassembly: segment pool exhausted")                                    \
	X(TCP_STREAM_ERROR, "tcp_stream_error", EVENTS, COUNTER_IN_GATEWAY,                                   \
	  "outbound TCP segments lost to reassembly (overflow, too many gaps, no memory)")                   \
	X(TCP_STREAM_UNFRAMEABLE, "tcp_stream_unframeable", EVENTS, COUNTER_IN_ENGINE | COUNTER_IN_GATEWAY,   \
	  "TCP streams resynchronised: no message framing found")                                            \
	X(ANNOUNCEMENT_INVALID, "announcement_invalid", EVENTS, COUNTER_IN_ENGINE,                            \
	  "announcements the engine refused (protocol, streams or key out of range)")                        \
	X(ANNOUNCEMENTS, "announcements", EVENTS, COUNTER_IN_ENGINE | COUNTER_IN_GATEWAY,                     \
	  "announcements applied (engine) or made (gateway)")                                                \
	X(SESSIONS_REPINNED, "sessions_repinned", EVENTS, COUNTER_IN_ENGINE,                                  \
	  "sessions moved off a failed server")                                                              \
	X(TCP_CONNECTIONS_ADOPTED, "tcp_connections_adopted", EVENTS, COUNTER_IN_ENGINE,                      \
	  "signalling TCP connections met in their middle, kept on the server their connmark names")         \
	/* Signalling that failed to parse (enum sip_status, enum rtsp_status). */                          \
	X(SIP_EMPTY, "sip_empty", EVENTS, COUNTER_IN_SIGNALLING, "empty SIP messages")                        \
	X(SIP_NOT_SIP, "sip_not_sip", EVENTS, COUNTER_IN_SIGNALLING,                                          \
	  "messages on a SIP port whose first line is not SIP")                                              \
	X(SIP_TRUNCATED, "sip_truncated", EVENTS, COUNTER_IN_SIGNALLING, "SIP messages shorter than they say") \
	X(SIP_OVERSIZED, "sip_oversized", EVENTS, COUNTER_IN_SIGNALLING, "SIP messages over the size limit")  \
	X(SIP_BINARY, "sip_binary", EVENTS, COUNTER_IN_SIGNALLING, "SIP messages with binary bytes in headers") \
	X(SIP_BAD_CONTENT_LENGTH, "sip_bad_content_length", EVENTS, COUNTER_IN_SIGNALLING,                    \
	  "SIP messages with an invalid Content-Length")                                                     \
	X(SIP_DUPLICATE_HEADER, "sip_duplicate_header", EVENTS, COUNTER_IN_SIGNALLING,                        \
	  "SIP messages repeating a header that must be single")                                             \
	X(SIP_NO_CALL_ID, "sip_no_call_id", EVENTS, COUNTER_IN_SIGNALLING, "SIP messages without a Call-ID")   \
	X(SIP_CALL_ID_TOO_LONG, "sip_call_id_too_long", EVENTS, COUNTER_IN_SIGNALLING,                        \
	  "SIP messages with an over-long Call-ID")                                                          \
	X(SIP_BAD_CSEQ, "sip_bad_cseq", EVENTS, COUNTER_IN_SIGNALLING, "SIP messages with an invalid CSeq")    \
	X(SIP_PARSE_ERROR, "sip_parse_error", EVENTS, COUNTER_IN_SIGNALLING,                                  \
	  "SIP messages libosip2 could not parse")                                                           \
	X(SIP_ERROR, "sip_error", EVENTS, COUNTER_IN_SIGNALLING, "SIP messages failing for another reason")    \
	X(RTSP_EMPTY, "rtsp_empty", EVENTS, COUNTER_IN_SIGNALLING, "empty RTSP messages")                     \
	X(RTSP_NOT_RTSP, "rtsp_not_rtsp", EVENTS, COUNTER_IN_SIGNALLING,                                      \
	  "messages on an RTSP port whose first line is not RTSP")                                           \
	X(RTSP_TRUNCATED, "rtsp_truncated", EVENTS, COUNTER_IN_SIGNALLING,                                    \
	  "RTSP messages shorter than they say")                                                             \
	X(RTSP_OVERSIZED, "rtsp_oversized", EVENTS, COUNTER_IN_SIGNALLING, "RTSP messages over the size limit") \
	X(RTSP_BINARY, "rtsp_binary", EVENTS, COUNTER_IN_SIGNALLING,                                          \
	  "RTSP messages with binary bytes in headers")                                                      \
	X(RTSP_BAD_CONTENT_LENGTH, "rtsp_bad_content_length", EVENTS, COUNTER_IN_SIGNALLING,                  \
	  "RTSP messages with an invalid Content-Length")                                                    \
	X(RTSP_DUPLICATE_HEADER, "rtsp_duplicate_header", EVENTS, COUNTER_IN_SIGNALLING,                      \
	  "RTSP messages repeating a header that must be single")                                            \
	X(RTSP_BAD_CSEQ, "rtsp_bad_cseq", EVENTS, COUNTER_IN_SIGNALLING, "RTSP messages with an invalid CSeq") \
	X(RTSP_BAD_SESSION, "rtsp_bad_session", EVENTS, COUNTER_IN_SIGNALLING,                                \
	  "RTSP messages with an invalid Session header")                                                    \
	X(RTSP_BAD_TRANSPORT, "rtsp_bad_transport", EVENTS, COUNTER_IN_SIGNALLING,                            \
	  "RTSP messages with an invalid Transport header")                                                  \
	X(RTSP_ERROR, "rtsp_error", EVENTS, COUNTER_IN_SIGNALLING, "RTSP messages failing for another reason") \
                                                                                                              \
	/* Admission control (admission_get_counters): decisions, then inputs. */                           \
	COUNTER_ADMISSION_ZONES(X, ADMITTED, NEW, "admitted", "new", "new sessions")                          \
	COUNTER_ADMISSION_ZONES(X, ADMITTED, ESTABLISHED, "admitted", "established",                          \
				"packets of established sessions")                                          \
	COUNTER_ADMISSION_ZONES(X, REFUSED, NEW, "refused", "new", "new sessions")                            \
	COUNTER_ADMISSION_ZONES(X, REFUSED, ESTABLISHED, "refused", "established",                            \
				"packets of established sessions")                                          \
	X(ADMISSION_REPORTS, "admission_reports", TOTAL, COUNTER_IN_ADMISSION,                                \
	  "cluster load reports taken into account")                                                         \
	X(ADMISSION_REPORTS_STALE, "admission_reports_stale", TOTAL, COUNTER_IN_ADMISSION,                    \
	  "cluster load reports older than the previous one (ignored)")                                      \
	X(ADMISSION_REPORTS_EMPTY, "admission_reports_empty", TOTAL, COUNTER_IN_ADMISSION,                    \
	  "cluster load reports with no server of usable weight (ignored)")                                  \
	X(ADMISSION_LOAD_CLAMPED, "admission_load_clamped", TOTAL, COUNTER_IN_ADMISSION,                      \
	  "server loads above 1, taken as 1")                                                                \
	X(ADMISSION_LOAD_INVALID, "admission_load_invalid", TOTAL, COUNTER_IN_ADMISSION,                      \
	  "NaN, infinite or negative server loads, taken as 1")                                              \
	X(ADMISSION_WEIGHT_INVALID, "admission_weight_invalid", TOTAL, COUNTER_IN_ADMISSION,                  \
	  "servers left out of a report for their weight")                                                   \
	X(ADMISSION_THRESHOLDS_MOVED, "admission_thresholds_moved", TOTAL, COUNTER_IN_ADMISSION,              \
	  "reports that moved T2 and/or T3 down")                                                            \
	X(ADMISSION_THRESHOLDS_RESET, "admission_thresholds_reset", TOTAL, COUNTER_IN_ADMISSION,              \
	  "reports that put T2 and T3 back")                                                                 \
	X(ADMISSION_ANSWER_WAITS_EXPIRED, "admission_answer_waits_expired", TOTAL, COUNTER_IN_ADMISSION,      \
	  "admitted sessions no answer was seen for in time (window estimate)")                              \
                                                                                                              \
	/* sarad's verdicts (struct verdict_counts), by action and reason. */                              \
	COUNTER_VERDICT_REASONS(X, ACCEPT, COUNTER_IN_VERDICT_ACCEPT, "packets accepted:")                    \
	COUNTER_VERDICT_REASONS(X, DROP, COUNTER_IN_VERDICT_DROP, "packets dropped:")                         \
	X(ACCEPTED_UNMARKED, "accepted_unmarked", TOTAL, COUNTER_IN_VERDICTS,                                 \
	  "packets accepted with no server mark (fail-open routing)")                                        \
	X(CONNMARKS_SET, "connmarks_set", TOTAL, COUNTER_IN_VERDICTS,                                         \
	  "accepts that also wrote the flow's connmark")                                                     \
                                                                                                              \
	/* One NFQUEUE queue: sarad's side, then the kernel's. */                                           \
	X(QUEUE_RECEIVED, "received", TOTAL, COUNTER_IN_QUEUE, "packets read from the queue")                 \
	X(QUEUE_BATCHES, "batches", TOTAL, COUNTER_IN_QUEUE, "batches of packets read")                       \
	X(QUEUE_VERDICTS, "verdicts", TOTAL, COUNTER_IN_QUEUE, "verdicts sent")                               \
	X(QUEUE_VERDICT_ERRORS, "verdict_errors", TOTAL, COUNTER_IN_QUEUE, "verdicts the kernel refused")     \
	X(QUEUE_ENOBUFS, "enobufs", TOTAL, COUNTER_IN_QUEUE, "reads that found the socket buffer overrun")    \
	X(KERNEL_WAITING, "kernel_waiting", GAUGE, COUNTER_IN_KERNEL_QUEUE, "packets waiting for a verdict")  \
	X(KERNEL_DROPPED, "kernel_dropped", TOTAL, COUNTER_IN_KERNEL_QUEUE,                                   \
	  "packets the kernel dropped: queue full")                                                          \
	X(KERNEL_USER_DROPPED, "kernel_user_dropped", TOTAL, COUNTER_IN_KERNEL_QUEUE,                         \
	  "packets the kernel dropped: socket buffer full")                                                  \
	X(KERNEL_ID_SEQUENCE, "kernel_id_sequence", TOTAL, COUNTER_IN_KERNEL_QUEUE,                           \
	  "the id of the queue's last packet")                                                               \
                                                                                                              \
	/* The announcement and agent listeners, and why they rejected datagrams. */                       \
	X(ANNOUNCE_RECEIVED, "received", TOTAL, COUNTER_IN_ANNOUNCE, "announcement datagrams read")           \
	X(ANNOUNCE_ACCEPTED, "accepted", TOTAL, COUNTER_IN_ANNOUNCE, "announcements given to the engine")     \
	X(ANNOUNCE_REJECTED, "rejected", TOTAL, COUNTER_IN_ANNOUNCE, "announcement datagrams rejected")       \
	X(AGENTS_RECEIVED, "received", TOTAL, COUNTER_IN_AGENTS, "agent datagrams read")                      \
	X(AGENTS_HEARTBEATS, "heartbeats", TOTAL, COUNTER_IN_AGENTS, "heartbeats given to server health")     \
	X(AGENTS_LOADS, "loads", TOTAL, COUNTER_IN_AGENTS, "load reports given to server health")             \
	X(AGENTS_REJECTED, "rejected", TOTAL, COUNTER_IN_AGENTS, "agent datagrams rejected")                  \
	X(WIRE_TRUNCATED, "wire_truncated", EVENTS, COUNTER_IN_REJECTS,                                       \
	  "datagrams shorter than header and tag, or disagreeing with their length")                         \
	X(WIRE_BAD_MAGIC, "wire_bad_magic", EVENTS, COUNTER_IN_REJECTS,                                       \
	  "datagrams not sara's, or of another version")                                                     \
	X(WIRE_FORGED, "wire_forged", EVENTS, COUNTER_IN_REJECTS, "datagrams whose tag does not verify")      \
	X(WIRE_REPLAYED, "wire_replayed", EVENTS, COUNTER_IN_REJECTS,                                         \
	  "datagrams with a sequence number seen before or too old")                                         \
	X(WIRE_STALE, "wire_stale", EVENTS, COUNTER_IN_REJECTS, "datagrams stamped too far from our clock")   \
	X(WIRE_TOO_MANY_SENDERS, "wire_too_many_senders", EVENTS, COUNTER_IN_REJECTS,                         \
	  "datagrams from a sender past the replay table's capacity")                                        \
	X(OVERSIZED, "oversized", EVENTS, COUNTER_IN_REJECTS, "datagrams longer than any sara message")       \
	X(NOT_AN_ANNOUNCEMENT, "not_an_announcement", EVENTS, COUNTER_IN_ANNOUNCE_REJECT,                     \
	  "authentic datagrams on the announcement port of another type")                                    \
	X(ANNOUNCE_TRUNCATED, "announce_truncated", EVENTS, COUNTER_IN_ANNOUNCE_REJECT,                       \
	  "announcements shorter than their fields")                                                         \
	X(ANNOUNCE_BAD_VERSION, "announce_bad_version", EVENTS, COUNTER_IN_ANNOUNCE_REJECT,                   \
	  "announcements of another codec version")                                                          \
	X(ANNOUNCE_BAD_FAMILY, "announce_bad_family", EVENTS, COUNTER_IN_ANNOUNCE_REJECT,                     \
	  "announcements with an unknown address family")                                                    \
	X(ANNOUNCE_BAD_L4, "announce_bad_l4", EVENTS, COUNTER_IN_ANNOUNCE_REJECT,                             \
	  "announcements of a flow neither TCP nor UDP")                                                     \
	X(ANNOUNCE_BAD_PROTO, "announce_bad_proto", EVENTS, COUNTER_IN_ANNOUNCE_REJECT,                       \
	  "announcements of an unknown signalling protocol")                                                 \
	X(ANNOUNCE_BAD_FLAGS, "announce_bad_flags", EVENTS, COUNTER_IN_ANNOUNCE_REJECT,                       \
	  "announcements with unknown fact flags")                                                           \
	X(ANNOUNCE_BAD_METHOD, "announce_bad_method", EVENTS, COUNTER_IN_ANNOUNCE_REJECT,                     \
	  "announcements with an unknown method")                                                            \
	X(ANNOUNCE_BAD_STATUS, "announce_bad_status", EVENTS, COUNTER_IN_ANNOUNCE_REJECT,                     \
	  "announcements with an impossible status code")                                                    \
	X(ANNOUNCE_BAD_MEDIA_OP, "announce_bad_media_op", EVENTS, COUNTER_IN_ANNOUNCE_REJECT,                 \
	  "announcements with an unknown media operation")                                                   \
	X(ANNOUNCE_BAD_KEY, "announce_bad_key", EVENTS, COUNTER_IN_ANNOUNCE_REJECT,                           \
	  "announcements with an over-long or NUL-bearing session key")                                      \
	X(ANNOUNCE_TOO_MANY_STREAMS, "announce_too_many_streams", EVENTS, COUNTER_IN_ANNOUNCE_REJECT,         \
	  "announcements with more media streams than allowed")                                              \
	X(ANNOUNCE_BAD_STREAM_FLAGS, "announce_bad_stream_flags", EVENTS, COUNTER_IN_ANNOUNCE_REJECT,         \
	  "announcements with unknown stream flags")                                                         \
	X(ANNOUNCE_BAD_STREAM, "announce_bad_stream", EVENTS, COUNTER_IN_ANNOUNCE_REJECT,                     \
	  "announcements with an enabled stream on port 0")                                                  \
	X(ANNOUNCE_TRAILING_BYTES, "announce_trailing_bytes", EVENTS, COUNTER_IN_ANNOUNCE_REJECT,             \
	  "announcements with bytes after their last field")                                                 \
	X(ANNOUNCE_BAD_EXTENSION, "announce_bad_extension", EVENTS, COUNTER_IN_ANNOUNCE_REJECT,               \
	  "announcements with an optional field of the wrong size, value or count")                          \
	X(ANNOUNCE_NOT_VIP, "announce_not_vip", EVENTS, COUNTER_IN_ANNOUNCE_REJECT,                           \
	  "announcements of a flow not to a VIP")                                                            \
	X(ANNOUNCE_WRONG_TRANSPORT, "announce_wrong_transport", EVENTS, COUNTER_IN_ANNOUNCE_REJECT,           \
	  "announcements of a TCP-only protocol over UDP")                                                   \
	X(ANNOUNCE_NOT_SIGNALLING_PORT, "announce_not_signalling_port", EVENTS, COUNTER_IN_ANNOUNCE_REJECT,   \
	  "announcements of a flow not to a signalling port")                                                \
	X(ANNOUNCE_BAD_STREAM_ADDR, "announce_bad_stream_addr", EVENTS, COUNTER_IN_ANNOUNCE_REJECT,           \
	  "announcements naming an unspecified, loopback or multicast media address")                        \
	X(NOT_AN_AGENT_MESSAGE, "not_an_agent_message", EVENTS, COUNTER_IN_AGENT_REJECT,                      \
	  "authentic datagrams on the agents' port of another type")                                         \
	X(AGENT_TRUNCATED, "agent_truncated", EVENTS, COUNTER_IN_AGENT_REJECT,                                \
	  "agent messages shorter than their fixed size")                                                    \
	X(AGENT_TRAILING_BYTES, "agent_trailing_bytes", EVENTS, COUNTER_IN_AGENT_REJECT,                      \
	  "agent messages longer than their fixed size")                                                     \
	X(AGENT_BAD_HOST, "agent_bad_host", EVENTS, COUNTER_IN_AGENT_REJECT, "agent messages with host id 0") \
	X(AGENT_BAD_FLAG, "agent_bad_flag", EVENTS, COUNTER_IN_AGENT_REJECT,                                  \
	  "heartbeats with an unknown flag")                                                                 \
	X(AGENT_LOAD_OUT_OF_RANGE, "agent_load_out_of_range", EVENTS, COUNTER_IN_AGENT_REJECT,                \
	  "load reports with a component above 1")                                                           \
	X(AGENT_UNKNOWN_HOST, "agent_unknown_host", EVENTS, COUNTER_IN_AGENT_REJECT,                          \
	  "agent messages signed by no configured server")                                                   \
	X(AGENT_HOST_MISMATCH, "agent_host_mismatch", EVENTS, COUNTER_IN_AGENT_REJECT,                        \
	  "agent messages naming another host than their signer")                                            \
                                                                                                              \
	/* Server health (server_health_counters). */                                                        \
	X(HEALTH_HEARTBEATS, "heartbeats", EVENTS, COUNTER_IN_HEALTH, "heartbeats taken into account")       \
	X(HEARTBEATS_LOST, "heartbeats_lost", EVENTS, COUNTER_IN_HEALTH,                                      \
	  "heartbeats missing from the sequence")                                                            \
	X(HEARTBEATS_REORDERED, "heartbeats_reordered", EVENTS, COUNTER_IN_HEALTH,                            \
	  "heartbeats older than the last one (ignored)")                                                    \
	X(AGENT_RESTARTS, "agent_restarts", EVENTS, COUNTER_IN_HEALTH,                                        \
	  "heartbeat sequences that started again (an agent restart)")                                       \
	X(HEALTH_LOADS, "loads", EVENTS, COUNTER_IN_HEALTH, "load reports taken into account")               \
	X(LOAD_CLAMPED, "load_clamped", EVENTS, COUNTER_IN_HEALTH, "load components outside 0..1, clamped")   \
	X(LOAD_NAN, "load_nan", EVENTS, COUNTER_IN_HEALTH, "load components not a number, taken as 1")       \
	X(LOAD_EMPTY, "load_empty", EVENTS, COUNTER_IN_HEALTH, "load reports with no counted component")     \
	X(FAILURES, "failures", EVENTS, COUNTER_IN_HEALTH, "servers declared failed")                        \
	X(DRAINS, "drains", EVENTS, COUNTER_IN_HEALTH, "servers that announced a drain")                     \
	X(RECOVERIES, "recoveries", EVENTS, COUNTER_IN_HEALTH, "failed servers taken back")                  \
	X(RECOVERIES_HELD, "recoveries_held", EVENTS, COUNTER_IN_HEALTH,                                      \
	  "good heartbeats of a failed server within its hold-down")                                         \
	X(BAD_SERVER, "bad_server", EVENTS, COUNTER_IN_HEALTH, "reports for a server index out of range")    \
	X(BAD_FLAG, "bad_flag", EVENTS, COUNTER_IN_HEALTH, "heartbeats with a flag server health ignores")   \
                                                                                                              \
	/* Connmark writes and queries (struct ct_marks_stats). */                                          \
	X(CONNTRACK_UPDATES, "updates", TOTAL, COUNTER_IN_CONNTRACK, "connmarks written")                     \
	X(CONNTRACK_MISSING, "missing", TOTAL, COUNTER_IN_CONNTRACK,                                          \
	  "connmark writes whose flow had no conntrack entry")                                               \
	X(CONNTRACK_ERRORS, "errors", TOTAL, COUNTER_IN_CONNTRACK, "conntrack requests that failed otherwise") \
	X(CONNTRACK_QUERIES, "queries", TOTAL, COUNTER_IN_CONNTRACK, "single-flow conntrack queries")         \
                                                                                                              \
	/* sarad's own events. */                                                                             \
	X(EMPTY_PACKETS, "empty_packets", EVENTS, COUNTER_IN_DAEMON, "queued packets with no payload")        \
	X(CONNMARKS_MOVED, "connmarks_moved", EVENTS, COUNTER_IN_DAEMON,                                      \
	  "connmarks rewritten for flows moved to another server")                                           \
	X(CONNMARKS_CLEARED, "connmarks_cleared", EVENTS, COUNTER_IN_DAEMON,                                  \
	  "connmarks cleared for flows the engine forgot")                                                   \
	X(CONNMARK_WRITE_INLINE, "connmark_write_inline", EVENTS, COUNTER_IN_DAEMON,                          \
	  "connmarks written inline: the write ring was full")                                               \
	X(CONNMARK_WRITE_ERRORS, "connmark_write_errors", EVENTS, COUNTER_IN_DAEMON, "connmark writes that failed") \
	X(CONNTRACK_SCANS, "conntrack_scans", EVENTS, COUNTER_IN_DAEMON, "conntrack table scans completed")  \
	X(CONNTRACK_SCAN_MS, "conntrack_scan_ms", EVENTS, COUNTER_IN_DAEMON,                                  \
	  "milliseconds spent in conntrack scans")                                                           \
	X(CONNTRACK_SCAN_FAILURES, "conntrack_scan_failures", EVENTS, COUNTER_IN_DAEMON,                      \
	  "conntrack table scans that failed")                                                               \
	X(CONNTRACK_SCAN_ANSWERS, "conntrack_scan_answers", EVENTS, COUNTER_IN_DAEMON,                        \
	  "flow liveness questions answered from the live set (a scan kept current by events)")              \
	X(CONNTRACK_QUERY_ERRORS, "conntrack_query_errors", EVENTS, COUNTER_IN_DAEMON,                        \
	  "single-flow conntrack queries that failed")                                                       \
	X(CONNTRACK_EVENTS, "conntrack_events", EVENTS, COUNTER_IN_DAEMON,                                    \
	  "conntrack events read (new, update, destroy)")                                                    \
	X(CONNTRACK_EVENTS_LOST, "conntrack_events_lost", EVENTS, COUNTER_IN_DAEMON,                          \
	  "times the kernel dropped conntrack events (ENOBUFS)")                                             \
	X(CONNTRACK_RESYNCS, "conntrack_resyncs", EVENTS, COUNTER_IN_DAEMON,                                  \
	  "conntrack scans that resynchronised the live set after lost events")                              \
	X(SERVER_FAILED_EVENTS, "server_failed_events", EVENTS, COUNTER_IN_DAEMON,                            \
	  "server failures applied to the engine")                                                           \
	X(SERVER_DRAINING_EVENTS, "server_draining_events", EVENTS, COUNTER_IN_DAEMON,                        \
	  "server drains applied to the engine")                                                             \
	X(SERVER_RECOVERED_EVENTS, "server_recovered_events", EVENTS, COUNTER_IN_DAEMON,                      \
	  "server recoveries applied to the engine")                                                         \
	X(OPERATOR_DRAINS, "operator_drains", EVENTS, COUNTER_IN_DAEMON, "drain commands (sara-ctl drain)")   \
	X(OPERATOR_UNDRAINS, "operator_undrains", EVENTS, COUNTER_IN_DAEMON,                                  \
	  "undrain commands (sara-ctl undrain)")                                                             \
	X(CONFIG_RELOADS, "config_reloads", EVENTS, COUNTER_IN_DAEMON, "configuration reloads applied")      \
	X(CONFIG_RELOADS_REFUSED, "config_reloads_refused", EVENTS, COUNTER_IN_DAEMON,                        \
	  "configuration reloads refused (running configuration kept)")                                      \
	X(SERVERS_ADDED, "servers_added", EVENTS, COUNTER_IN_DAEMON, "servers added by a reload")             \
	X(SERVERS_RETIRED, "servers_retired", EVENTS, COUNTER_IN_DAEMON,                                      \
	  "servers removed by a reload while sessions still held them (they drain)")                         \
	X(SERVERS_FREED, "servers_freed", EVENTS, COUNTER_IN_DAEMON,                                          \
	  "removed servers gone for good: nothing held them any more")                                       \
	/* RFC 7339 overload control: the admission state sent to the gateways. */                         \
	X(OC_STATES_SENT, "oc_states_sent", EVENTS, COUNTER_IN_DAEMON,                                        \
	  "admission states sent to the gateways for RFC 7339 overload control")                             \
	X(OC_STATE_SEND_ERRORS, "oc_state_send_errors", EVENTS, COUNTER_IN_DAEMON,                            \
	  "admission states the socket refused")                                                             \
	X(OC_GATEWAYS_FULL, "oc_gateways_full", EVENTS, COUNTER_IN_DAEMON,                                    \
	  "gateways not remembered for overload control: the table was full")                                \
	/* The session journal (state.journal). */                                                          \
	X(JOURNAL_RECORDS, "journal_records", EVENTS, COUNTER_IN_DAEMON, "journal records written")            \
	X(JOURNAL_WRITES, "journal_writes", EVENTS, COUNTER_IN_DAEMON,                                         \
	  "write(2) calls that carried them (one per batch of packets that changed sessions)")               \
	X(JOURNAL_WRITE_ERRORS, "journal_write_errors", EVENTS, COUNTER_IN_DAEMON,                            \
	  "journal writes that failed (their sessions would not survive a restart)")                         \
	X(JOURNAL_COMPACTIONS, "journal_compactions", EVENTS, COUNTER_IN_DAEMON,                              \
	  "journal compactions completed (at start and as it grew)")                                        \
	X(JOURNAL_SESSIONS_RESTORED, "journal_sessions_restored", EVENTS, COUNTER_IN_DAEMON,                  \
	  "sessions re-created from the journal at start")                                                   \
	X(JOURNAL_SESSIONS_DROPPED, "journal_sessions_dropped", EVENTS, COUNTER_IN_DAEMON,                    \
	  "journaled sessions not re-created (server gone, table full, duplicate)")                          \
	X(JOURNAL_BYTES_REJECTED, "journal_bytes_rejected", EVENTS, COUNTER_IN_DAEMON,                        \
	  "journal bytes not trusted at start (a torn tail, corrupt records, a foreign file)")               \
	/* Session replication (ha.session_store). */                                                      \
	X(REPLICA_QUEUED, "replica_records_queued", EVENTS, COUNTER_IN_DAEMON,                                              \
	  "decisions handed to the replication thread (ha.session_store)")                                                                                   \
	X(REPLICA_QUEUE_DROPS, "replica_queue_drops", EVENTS, COUNTER_IN_DAEMON,                                              \
	  "decisions not replicated: the replication queue was full")                                                                                   \
	X(REPLICA_WRITTEN, "replica_records_written", EVENTS, COUNTER_IN_DAEMON,                                              \
	  "records written to this dispatcher's store")                                                                                   \
	X(REPLICA_PUBLISHED, "replica_records_published", EVENTS, COUNTER_IN_DAEMON,                                              \
	  "records published to the peers")                                                                                   \
	X(REPLICA_STORE_ERRORS, "replica_store_errors", EVENTS, COUNTER_IN_DAEMON,                                              \
	  "records the local store refused or lost with its connection")                                                                                   \
	X(REPLICA_RECEIVED, "replica_records_received", EVENTS, COUNTER_IN_DAEMON,                                              \
	  "authentic records received on the peers' channels")                                                                                   \
	X(REPLICA_RESYNCED, "replica_records_resynced", EVENTS, COUNTER_IN_DAEMON,                                              \
	  "authentic records read from the stores at a resync")                                                                                   \
	X(REPLICA_REJECTED_FORGED, "replica_rejected_forged", EVENTS, COUNTER_IN_DAEMON,                                              \
	  "replication records refused: the tag does not verify")                                                                                   \
	X(REPLICA_REJECTED_REPLAYED, "replica_rejected_replayed", EVENTS, COUNTER_IN_DAEMON,                                              \
	  "replication records refused: a sequence number seen before")                                                                                   \
	X(REPLICA_REJECTED_STALE, "replica_rejected_stale", EVENTS, COUNTER_IN_DAEMON,                                              \
	  "replication records refused: timestamp too far from our clock")                                                                                   \
	X(REPLICA_REJECTED_OTHER_SERVERS, "replica_rejected_other_servers", EVENTS, COUNTER_IN_DAEMON,                                              \
	  "replication records refused: made with another server list")                                                                                   \
	X(REPLICA_REJECTED_OTHER_SENDER, "replica_rejected_other_sender", EVENTS, COUNTER_IN_DAEMON,                                              \
	  "replication records refused: not the channel's dispatcher")                                                                                   \
	X(REPLICA_REJECTED_MALFORMED, "replica_rejected_malformed", EVENTS, COUNTER_IN_DAEMON,                                              \
	  "replication records refused: truncated, not a replica, or undecodable")                                                                                   \
	X(REPLICA_PEERS_REFUSED, "replica_peers_refused", EVENTS, COUNTER_IN_DAEMON,                                              \
	  "peer stores refused: another key, server list, cluster or sender id")                                                                                   \
	X(REPLICA_PEER_CONNECTS, "replica_peer_connects", EVENTS, COUNTER_IN_DAEMON,                                              \
	  "connections made to the peers' stores")                                                                                   \
	X(REPLICA_PEER_ERRORS, "replica_peer_errors", EVENTS, COUNTER_IN_DAEMON,                                              \
	  "connections to the peers' stores that failed or broke")                                                                                   \
	X(REPLICA_SESSIONS_ADOPTED, "replica_sessions_adopted", EVENTS, COUNTER_IN_DAEMON,                                              \
	  "peers' sessions and connections adopted here")                                                                                   \
	X(REPLICA_SESSIONS_UPDATED, "replica_sessions_updated", EVENTS, COUNTER_IN_DAEMON,                                              \
	  "newer states of peers' sessions applied here")                                                                                   \
	X(REPLICA_SESSIONS_ENDED, "replica_sessions_ended", EVENTS, COUNTER_IN_DAEMON,                                              \
	  "sessions ended here because a peer's signalling ended them")                                                                                   \
	X(REPLICA_VERSIONS_STALE, "replica_versions_stale", EVENTS, COUNTER_IN_DAEMON,                                              \
	  "peers' records not newer than what is known here (ignored)")                                                                                   \
	X(REPLICA_UNUSABLE, "replica_records_unusable", EVENTS, COUNTER_IN_DAEMON,                                              \
	  "peers' records not applied: no such server, table full, or unknown session")                                                                                   \
	/* Replies to refused packets (reject_sender). */                                                   \
	X(REPLY_SENT_503, "reply_sent_503", TOTAL, COUNTER_IN_REPLY, "SIP 503 replies sent")                  \
	X(REPLY_SENT_RESET, "reply_sent_reset", TOTAL, COUNTER_IN_REPLY, "TCP resets sent")                   \
	X(REPLY_RATE_LIMITED, "reply_rate_limited", TOTAL, COUNTER_IN_REPLY,                                  \
	  "replies not sent: over admission.replies_per_s")                                                  \
	X(REPLY_UNBUILDABLE, "reply_unbuildable", TOTAL, COUNTER_IN_REPLY,                                    \
	  "replies that could not be built from the refused packet")                                         \
	X(REPLY_SEND_ERRORS, "reply_send_errors", TOTAL, COUNTER_IN_REPLY, "replies the raw socket refused") \
	X(REPLY_503_OC, "reply_503_oc", TOTAL, COUNTER_IN_REPLY,                                              \
	  "SIP 503 replies that carried RFC 7339 overload control (oc, oc-validity, oc-seq)")               \
                                                                                                              \
	/* sara-gw's own: its announcer (struct announcer_stats) and verdicts, then its queue. */     \
	X(GW_PACKETS, "packets", TOTAL, COUNTER_IN_GW_DAEMON, "outbound packets the gateway inspected")       \
	X(GW_ANNOUNCEMENTS, "announcements", TOTAL, COUNTER_IN_GW_DAEMON, "announcements made")               \
	X(GW_SENT, "sent", TOTAL, COUNTER_IN_GW_DAEMON, "announcements sent to sarad")                        \
	X(GW_SEND_ERRORS, "send_errors", TOTAL, COUNTER_IN_GW_DAEMON, "announcements the socket refused")     \
	X(GW_ENCODE_ERRORS, "encode_errors", TOTAL, COUNTER_IN_GW_DAEMON,                                     \
	  "announcements too large to encode")                                                               \
	X(GW_VERDICT_ERRORS, "verdict_errors", TOTAL, COUNTER_IN_GW_DAEMON,                                   \
	  "packets whose verdict could not be sent")                                                         \
	/* sara-gw's RFC 7339 overload control: responses rewritten, and the states behind them. */      \
	X(GW_OC_ADDED, "oc_added", TOTAL, COUNTER_IN_GW_DAEMON,                                               \
	  "responses given oc, oc-validity and oc-seq in the client's Via")                                  \
	X(GW_OC_NO_STATE, "oc_no_state", TOTAL, COUNTER_IN_GW_DAEMON,                                         \
	  "packets passed as they were: no dispatcher state within its validity")                            \
	X(GW_OC_UNREWRITABLE, "oc_unrewritable", EVENTS, COUNTER_IN_GW_DAEMON,                                \
	  "packets not looked at for oc: not a whole UDP datagram (TCP, fragments, IPv6 extension headers)")  \
	X(GW_OC_NOT_RESPONSE, "oc_not_response", EVENTS, COUNTER_IN_GW_DAEMON, "UDP payloads that are not SIP responses") \
	X(GW_OC_NO_VIA, "oc_no_via", EVENTS, COUNTER_IN_GW_DAEMON, "responses without a Via")                \
	X(GW_OC_MALFORMED, "oc_malformed", EVENTS, COUNTER_IN_GW_DAEMON,                                      \
	  "responses left alone: their top Via or headers do not scan, or the result would not parse")      \
	X(GW_OC_NOT_ADVERTISED, "oc_not_advertised", EVENTS, COUNTER_IN_GW_DAEMON,                            \
	  "responses whose client did not advertise oc")                                                     \
	X(GW_OC_ALREADY_SET, "oc_already_set", EVENTS, COUNTER_IN_GW_DAEMON,                                  \
	  "responses left alone: a server on the path set oc already")                                       \
	X(GW_OC_NO_LOSS, "oc_no_loss", EVENTS, COUNTER_IN_GW_DAEMON,                                          \
	  "responses left alone: the client's oc-algo offers no loss algorithm")                             \
	X(GW_OC_TOO_LONG, "oc_too_long", EVENTS, COUNTER_IN_GW_DAEMON,                                        \
	  "responses left alone: the rewritten datagram would be too long")                                  \
	X(GW_OC_BAD_FEEDBACK, "oc_bad_feedback", EVENTS, COUNTER_IN_GW_DAEMON,                                \
	  "responses left alone: the state held could not be written")                                       \
	X(GW_OC_STATES_RECEIVED, "oc_states_received", TOTAL, COUNTER_IN_GW_DAEMON,                           \
	  "datagrams read on the announcement socket (dispatchers' admission states)")                       \
	X(GW_OC_STATES_TAKEN, "oc_states_taken", TOTAL, COUNTER_IN_GW_DAEMON, "admission states taken")       \
	X(GW_OC_STATES_REJECTED, "oc_states_rejected", TOTAL, COUNTER_IN_GW_DAEMON,                           \
	  "datagrams rejected there (forged, replayed, stale, invalid...; logged with the reason)")         \
	X(GW_OC_STATE_INVALID, "oc_state_invalid", EVENTS, COUNTER_IN_GW_DAEMON,                              \
	  "admission states of another type, size or range")                                                 \
	X(GW_OC_STATE_OUT_OF_ORDER, "oc_state_out_of_order", EVENTS, COUNTER_IN_GW_DAEMON,                    \
	  "admission states older than the one held from the same dispatcher")                               \
	X(GW_OC_STATE_TOO_MANY, "oc_state_too_many", EVENTS, COUNTER_IN_GW_DAEMON,                            \
	  "admission states of one dispatcher too many (every entry held a fresh one)")                      \
	X(GW_QUEUE_RECEIVED, "received", TOTAL, COUNTER_IN_GW_QUEUE, "packets read from sara-gw's queue")     \
	X(GW_QUEUE_ENOBUFS, "enobufs", TOTAL, COUNTER_IN_GW_QUEUE, "reads that found the socket buffer overrun") \
	X(GW_QUEUE_VERDICT_ERRORS, "verdict_errors", TOTAL, COUNTER_IN_GW_QUEUE,                              \
	  "the queue's own count of verdicts the kernel refused")

#endif
