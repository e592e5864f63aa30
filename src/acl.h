/* ACL users (Redis 6/7 subset): the rule parser (ACL SETUSER's modifiers), the permission
 * check dispatch runs before every command, the description ACL LIST/GETUSER print, command
 * categories derived from the command table, and the node-local ACL LOG. The users are part
 * of the replicated state (fsm.c owns the store, applies ACL entries and snapshots them as
 * rule strings); this module is pure: no I/O, no clock (callers pass the time), no raft. */
#ifndef CONCORDKV_ACL_H
#define CONCORDKV_ACL_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct command;
struct request;

#define ACL_HASH_LEN 64      /* SHA-256 in lower-case hex */
#define ACL_CMD_WORDS 8      /* command bitmap: up to 512 rows of the command table */
#define ACL_LOG_MAX 128      /* Redis's acllog-max-len default */
/* The name peers authenticate with (peer.c): not a user, it has every permission. */
#define ACL_PEER_USER "__cluster"

enum acl_result { ACL_OK = 0, ACL_DENIED_CMD = 1, ACL_DENIED_KEY = 2, ACL_DENIED_AUTH = 3,
                  ACL_DENIED_CHANNEL = 4 };

enum acl_category {
    ACL_CAT_KEYSPACE = 1 << 0, ACL_CAT_READ = 1 << 1, ACL_CAT_WRITE = 1 << 2,
    ACL_CAT_SET = 1 << 3, ACL_CAT_SORTEDSET = 1 << 4, ACL_CAT_LIST = 1 << 5,
    ACL_CAT_HASH = 1 << 6, ACL_CAT_STRING = 1 << 7, ACL_CAT_BITMAP = 1 << 8,
    ACL_CAT_HYPERLOGLOG = 1 << 9, ACL_CAT_GEO = 1 << 10, ACL_CAT_STREAM = 1 << 11,
    ACL_CAT_PUBSUB = 1 << 12, ACL_CAT_ADMIN = 1 << 13, ACL_CAT_FAST = 1 << 14,
    ACL_CAT_SLOW = 1 << 15, ACL_CAT_BLOCKING = 1 << 16, ACL_CAT_DANGEROUS = 1 << 17,
    ACL_CAT_CONNECTION = 1 << 18, ACL_CAT_TRANSACTION = 1 << 19, ACL_CAT_SCRIPTING = 1 << 20,
};

enum acl_user_flags {
    ACL_USER_ON = 1 << 0,
    ACL_USER_NOPASS = 1 << 1,
    ACL_USER_SKIP_SANITIZE = 1 << 2,
};

#define ACL_PERM_READ 1
#define ACL_PERM_WRITE 2
#define ACL_PERM_ALL 3

struct acl_pattern {
    char *pat;
    size_t len;
    int perm; /* ACL_PERM_*: channel patterns use ACL_PERM_ALL */
};

struct acl_user {
    char *name;
    unsigned flags;              /* ACL_USER_* */
    char (*pass)[ACL_HASH_LEN + 1];
    int npass;
    int allkeys, allchannels, allcommands; /* allcommands: +@all (future commands too) */
    struct acl_pattern *keys;
    int nkeys;
    struct acl_pattern *chans;
    int nchans;
    uint64_t cmds[ACL_CMD_WORDS]; /* bit i: command table row i */
    /* first arguments allowed for a command whose bit is clear (+cmd|sub): per row, a
     * NULL-terminated array of lower-case strings; NULL when there are none */
    char ***firstargs;
};

struct acl_log_entry {
    long long count;
    int reason;              /* enum acl_result */
    int multi;               /* context: an acl_log_context */
    char *object, *username, *cinfo;
    int64_t ctime_ms;
};

/* The users (sorted by name, "default" always present) and this node's ACL LOG (newest
 * first, not replicated). GEN changes whenever the users do: callers may cache lookups. */
struct acl_store {
    struct acl_user **users;
    int n;
    uint64_t gen;
    int seeded;   /* replicated: users were seeded or changed (later aclfile seeds are ignored) */
    int pubsub_all; /* a new or reset user starts with allchannels (acl-pubsub-default): set
                     * from the record being applied, or from the config to check a proposal */
    struct acl_log_entry *log;
    int nlog;
};

/* A store holding only the default user (on nopass ~* &* +@all). acl_free(NULL) is a no-op. */
struct acl_store *acl_new(void);
void acl_free(struct acl_store *a);
/* Forget every user but a fresh default one (used before a restore / ACL LOAD). */
void acl_reset_users(struct acl_store *a);

/* The user named NAME, or NULL. */
struct acl_user *acl_user_find(const struct acl_store *a, const char *name, size_t len);
/* Apply ARGC rules (ACL SETUSER's modifiers) to the user NAME, creating it when missing. All
 * or nothing: on error nothing changes and ERR (ERRLEN bytes) holds Redis's text, without
 * the "ERR " prefix. Returns 0 or -1. */
int acl_setuser(struct acl_store *a, const char *name, size_t nlen, int argc, char *const *argv,
                const size_t *len, char *err, size_t errlen);
/* Validate as acl_setuser does without changing A. */
int acl_setuser_check(const struct acl_store *a, const char *name, size_t nlen, int argc,
                      char *const *argv, const size_t *len, char *err, size_t errlen);
/* Delete the users named (never "default"). Returns how many existed. */
int acl_deluser(struct acl_store *a, int argc, char *const *argv, const size_t *len);
/* Whether a user name is acceptable to ACL SETUSER (no spaces or NULs, not ACL_PEER_USER). */
int acl_name_ok(const char *name, size_t len);

/* SHA-256 of LEN bytes at S, as 64 lower-case hex digits and a NUL, into HEX. */
void acl_hash_password(const char *s, size_t len, char hex[ACL_HASH_LEN + 1]);
/* Check NAME/PASS: 0 (the user exists, is on, and PASS matches or it is nopass) or -1.
 * REQUIREPASS (this node's option, may be NULL) is the default user's password when set,
 * in place of the replicated ones. */
int acl_authenticate(const struct acl_store *a, const char *name, size_t nlen, const char *pass,
                     size_t plen, const char *requirepass);
/* Whether a new connection is authenticated as default without AUTH: default is on and
 * nopass and no requirepass is set. */
int acl_default_user_open(const struct acl_store *a, const char *requirepass);
/* Whether any user (default included) has a password: what protected mode asks ("no
 * password and no ACL users" is !acl_has_password_users && !requirepass). */
int acl_has_password_users(const struct acl_store *a);

/* May U run REQ (command CMD)? Returns ACL_OK, or ACL_DENIED_CMD / ACL_DENIED_KEY with the
 * offending argument's index in *ARGPOS. U NULL: every permission (peers). */
int acl_check(const struct acl_user *u, const struct command *cmd, const struct request *req,
              int *argpos);
/* Redis's -NOPERM text for RESULT (without the leading '-'), CMD being the command. */
/* May U use channel CH (LEN bytes)? Redis 7.0's rule: with allchannels always; else a channel
 * must match one of U's &patterns (glob), a pattern (IS_PATTERN: PSUBSCRIBE's argument) must
 * equal one of them literally. */
int acl_channel_allowed(const struct acl_user *u, const char *ch, size_t len, int is_pattern);
void acl_noperm_message(int result, const struct command *cmd, char *out, size_t outlen);

/* The categories of a command table row (ACL_CAT_* bits): from its flags and group. */
unsigned acl_command_categories(const struct command *cmd);
/* Category names in Redis's order; the name of bit I, or NULL past the last. */
const char *acl_category_name(int i);
/* The bit of category NAME, or 0. */
unsigned acl_category_by_name(const char *name, size_t len);

/* Append U's rules, as ACL LIST prints them after "user <name> ", to OUT: flags, #hashes,
 * key patterns, channels, command rules. With REQUIREPASS set and U the default user, its
 * hash stands in for the passwords (what this node authenticates with). */
void acl_describe_user(const struct acl_user *u, const char *requirepass, struct buf *out);
/* Append U's command rules (+@all -debug ...) to OUT. */
void acl_describe_commands(const struct acl_user *u, struct buf *out);
/* Append U's key patterns ("~a* %R~b*", "~*" for allkeys) / channels to OUT. */
void acl_describe_keys(const struct acl_user *u, struct buf *out);
void acl_describe_channels(const struct acl_user *u, struct buf *out);

/* Replicated-state serialization: every user as "name rule rule ...", whitespace-separated,
 * one per line, in name order. acl_load_text replaces the users of A by those of TEXT (an
 * aclfile's "user name rules..." lines are accepted too; blank lines and '#' comments are
 * skipped). All or nothing; returns 0 or -1 with a message in ERR. */
void acl_serialize(const struct acl_store *a, struct buf *out);
int acl_load_text(struct acl_store *a, const char *text, size_t len, char *err, size_t errlen);

/* Where a denial happened (ACL LOG's "context"). */
enum acl_log_context { ACL_LOG_TOPLEVEL = 0, ACL_LOG_MULTI = 1, ACL_LOG_LUA = 2 };

/* ACL LOG: record a denial (REASON an acl_result, MULTI an acl_log_context, OBJECT the
 * command, key or user name) at NOW_MS, grouping it with a similar recent entry as Redis
 * does. Strings are copied. */
void acl_log_add(struct acl_store *a, int reason, int multi, const char *object,
                 const char *username, const char *cinfo, int64_t now_ms);
void acl_log_reset(struct acl_store *a);

#endif
