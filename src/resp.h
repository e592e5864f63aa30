/* RESP in and out. In: our scanner checks each element as Redis does, then hiredis's
 * redisReader (public API only) with our own object functions builds each request's argv;
 * inline commands are split here too. Out: reply_*() helpers that
 * append RESP2 or RESP3 (the buffer's resp) to a buffer. No sockets, no event loop. */
#ifndef CONCORDKV_RESP_H
#define CONCORDKV_RESP_H

#include <stddef.h>
#include <stdint.h>
#include "util.h"

/* One request: ARGC arguments, each a NUL-terminated heap string of LEN[i] bytes (which may
 * contain NULs). Built by the reader, or by request_new/request_push. */
struct request {
    int argc;
    int cap;
    char **argv;
    size_t *len;
    /* Made by request_new: small arguments are copied into INL, INL_CAP bytes at the end of
     * the request's own allocation (not freed one by one); the rest are heap strings. */
    char *inl;
    size_t inl_used, inl_cap;
};

/* An empty request with room for CAP arguments. request_free(NULL) is a no-op. */
struct request *request_new(int cap);
void request_free(struct request *req);
/* Append a copy of P (LEN bytes) as the last argument. */
void request_push(struct request *req, const char *p, size_t len);
/* Append ARG (a heap string of LEN bytes with a NUL after it); the request takes ownership. */
void request_push_owned(struct request *req, char *arg, size_t len);
/* Replace REQ's arguments by FROM's and free FROM (pointers into FROM's arguments do not
 * stay valid). Requests are never copied as structs: their storage is embedded. */
void request_move(struct request *req, struct request *from);
/* Replace argument I by a copy of P. */
void request_set(struct request *req, int i, const char *p, size_t len);
/* True when argument I exists and equals WORD, ignoring case. */
int request_arg_is(const struct request *req, int i, const char *word);
/* argv[0] in lower case into DST (CAP bytes), as Redis names commands in its errors. */
void request_name_lower(const struct request *req, char *dst, size_t cap);
/* A deep copy. */
struct request *request_dup(const struct request *req);

enum {
    RESP_OK = 0,
    RESP_INCOMPLETE = 1,     /* need more bytes */
    RESP_ERR_PROTOCOL = -1,  /* the input is not valid RESP; errmsg says why */
};

struct resp_reader;

/* A reader enforcing MAX_BULK (proto-max-bulk-len) and Redis's 1M limit on the number of
 * arguments of a multibulk. resp_reader_free(NULL) is a no-op. */
struct resp_reader *resp_reader_new(long long max_bulk);
void resp_reader_free(struct resp_reader *r);
void resp_reader_set_max_bulk(struct resp_reader *r, long long max_bulk);
/* Append LEN bytes of input (copied). */
void resp_reader_feed(struct resp_reader *r, const char *buf, size_t len);
/* Take the next complete request. Returns RESP_OK with *OUT set (the caller owns it; an empty
 * line yields no request and is skipped), RESP_INCOMPLETE when more input is needed, or
 * RESP_ERR_PROTOCOL with a message in ERRMSG ("Protocol error: ..." without "-ERR "), after
 * which the reader is unusable. Multibulk and inline requests may be mixed. */
int resp_reader_next(struct resp_reader *r, struct request **out, char *errmsg, size_t errlen);
/* Bytes fed but not yet consumed by complete requests (for client-query-buffer-limit). */
size_t resp_reader_pending(const struct resp_reader *r);
/* Bytes of input buffers the reader holds (allocated, not only used). A bulk's buffer grows
 * as its bytes arrive, a bounded chunk ahead of them, whatever length its header claims. */
size_t resp_reader_allocated(const struct resp_reader *r);

/* The protocol of a reply buffer (struct buf's resp). RESP2 and RESP3 are what a client
 * receives. RESP_APPLY is the form fsm apply writes a write's reply in, whatever protocol its
 * client speaks: RESP3's types (map, set, double, boolean, verbatim, push) with RESP2's
 * nulls ($-1 and *-1 stay apart), so that reply_convert can turn it into either, losslessly,
 * on the node that holds the client. */
enum { RESP2 = 0, RESP_APPLY = 1, RESP3 = 3 };

/* Reply helpers: append one value to OUT in OUT->resp's protocol (RESP2 unless said). */
void reply_simple(struct buf *out, const char *s);                 /* +s */
void reply_ok(struct buf *out);                                    /* +OK */
/* An error: MSG is the whole text after '-', e.g. "ERR syntax error" or "WRONGTYPE ...".
 * CR and LF in it are replaced by spaces. */
void reply_error(struct buf *out, const char *msg);
void reply_errorf(struct buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Where every error reply is counted (INFO errorstats): FN(ARG, MSG) for each reply_error,
 * unless muted (apply mutes it: its replies are counted where a client receives them).
 * FN NULL: none. Process-wide, single-threaded. */
typedef void resp_error_fn(void *arg, const char *msg);
void resp_set_error_hook(resp_error_fn *fn, void *arg);
void resp_mute_errors(int mute);
void reply_int(struct buf *out, long long v);                      /* :v */
void reply_bulk(struct buf *out, const char *p, size_t len);       /* $len p */
void reply_bulk_cstr(struct buf *out, const char *s);
void reply_bulk_ll(struct buf *out, long long v);                  /* a number as a bulk */
void reply_null(struct buf *out);                                  /* $-1; RESP3 _ */
void reply_null_array(struct buf *out);                            /* *-1; RESP3 _ */
void reply_array(struct buf *out, long long n);                    /* *n, then n values */
/* Redis 7.0's RESP3 types, each with its RESP2 form. */
void reply_map_len(struct buf *out, long long n);  /* %n then n key/value pairs; RESP2 *2n */
void reply_set_len(struct buf *out, long long n);  /* ~n then n values; RESP2 *n */
void reply_push_len(struct buf *out, long long n); /* >n (Pub/Sub); RESP2 *n */
/* ,d as addReplyDouble: %.17g, inf, -inf; RESP2 the same text as a bulk. */
void reply_double(struct buf *out, double d);
void reply_bool(struct buf *out, int b);           /* #t / #f; RESP2 :1 / :0 */
/* =len\r\ntxt:P; RESP2 the bulk P (INFO, CLIENT INFO, LATENCY DOCTOR ...). */
void reply_verbatim(struct buf *out, const char *p, size_t len);
void reply_bignum(struct buf *out, const char *digits); /* (digits; RESP2 a bulk */
/* N pairs (WITHSCORES, WITHVALUES): RESP3 an array of N two-element arrays, each opened by
 * reply_pair(); RESP2 one flat array of 2N (reply_pair writes nothing). In RESP_APPLY they
 * are the internal headers @N and &2, which reply_convert turns into either. */
void reply_pairs_len(struct buf *out, long long n);
void reply_pair(struct buf *out);
/* Append the replies at P (LEN bytes, complete values in the RESP_APPLY form, or RESP2's)
 * to OUT converted to OUT->resp. A truncated value is appended as it is. */
void reply_convert(struct buf *out, const char *p, size_t len);
/* Redis's common errors. */
void reply_syntax_error(struct buf *out);       /* ERR syntax error */
void reply_not_integer(struct buf *out);        /* ERR value is not an integer or out of range */
void reply_wrong_arity(struct buf *out, const char *cmdname); /* ERR wrong number of arguments for 'x' command */
/* ERR wrong number of arguments for 'cmd|sub' command, SUB in lower case as Redis prints it. */
void reply_wrong_subcommand_arity(struct buf *out, const char *cmd, const char *sub);

#endif
