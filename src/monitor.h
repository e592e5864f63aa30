/* MONITOR's rules and line format, and the redaction SLOWLOG shares: which commands are shown
 * (not admin ones, as Redis 7.0), which arguments read "(redacted)", and the line
 * `+<sec>.<usec> [0 <addr>] "arg" ...` with sdscatrepr's quoting. Pure: no loop, no clock. */
#ifndef CONCORDKV_MONITOR_H
#define CONCORDKV_MONITOR_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct command;
struct request;

/* Whether REQ (CMD's) is shown to monitors. */
int monitor_shows(const struct command *cmd, const struct request *req);
/* The arguments of REQ (CMD's) that MONITOR and SLOWLOG show as "(redacted)": bit I for
 * argument I (arguments past 63 are never secret). */
uint64_t monitor_redact_mask(const struct command *cmd, const struct request *req);
/* Append to OUT the monitor line of REQ's arguments (those in REDACT redacted) run at
 * NOW_US (µs since the epoch) in database DB by WHO ("127.0.0.1:5000", "lua" ...), "\r\n"
 * included. */
void monitor_format(struct buf *out, int64_t now_us, int db, const char *who,
                    const struct request *req, uint64_t redact);
/* The same line without its "+<sec>.<usec> " stamp (a script's calls traced in apply, which
 * reads no clock: monitor_stamp adds the stamp when the lines are shown). */
void monitor_format_unstamped(struct buf *out, int db, const char *who,
                              const struct request *req, uint64_t redact);
/* Append the LEN bytes of unstamped lines at LINES to OUT, each stamped with NOW_US. */
void monitor_stamp(struct buf *out, int64_t now_us, const char *lines, size_t len);
/* Append the quoted form of the LEN bytes at P, as Redis's sdscatrepr writes it. */
void monitor_repr(struct buf *out, const char *p, size_t len);

#endif
