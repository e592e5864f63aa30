/* ACL users: rules, checks, descriptions, categories and the ACL LOG (see acl.h). Pure: the
 * command table is read, nothing else; no clock (callers pass the time), no I/O. Behaviour and
 * texts follow Redis 7.0's acl.c (root selector only: no "(...)" selectors). */
#include "acl.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "command.h"
#include "resp.h"
#include "util.h"

/* ---- categories ---- */

static const char *const category_names[] = {
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
    "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous",
    "connection", "transaction", "scripting", NULL,
};

const char *acl_category_name(int i)
{
    return i >= 0 && i < (int)(sizeof(category_names) / sizeof(category_names[0])) ? category_names[i] : NULL;
}

unsigned acl_category_by_name(const char *name, size_t len)
{
    for (int i = 0; category_names[i] != NULL; i++)
        if (strlen(category_names[i]) == len && strncasecmp(category_names[i], name, len) == 0)
            return 1u << i;
    return 0;
}

/* Groups of the command table (COMMAND DOCS groups) and the category each one implies. */
static const struct {
    const char *group;
    unsigned cat;
} group_categories[] = {
    {"string", ACL_CAT_STRING}, {"hash", ACL_CAT_HASH}, {"set", ACL_CAT_SET},
    {"sortedset", ACL_CAT_SORTEDSET}, {"list", ACL_CAT_LIST}, {"generic", ACL_CAT_KEYSPACE},
    {"connection", ACL_CAT_CONNECTION}, {"transactions", ACL_CAT_TRANSACTION},
    {"scripting", ACL_CAT_SCRIPTING}, {"pubsub", ACL_CAT_PUBSUB}, {"bitmap", ACL_CAT_BITMAP},
    {"hyperloglog", ACL_CAT_HYPERLOGLOG}, {"geo", ACL_CAT_GEO}, {"stream", ACL_CAT_STREAM},
    {"cluster", ACL_CAT_ADMIN | ACL_CAT_DANGEROUS},
};

/* Where Redis 7.0 files a command beyond what its flags and group say. */
static const struct {
    const char *name;
    unsigned cat;
} extra_categories[] = {
    {"keys", ACL_CAT_DANGEROUS}, {"flushall", ACL_CAT_KEYSPACE | ACL_CAT_DANGEROUS},
    {"flushdb", ACL_CAT_KEYSPACE | ACL_CAT_DANGEROUS}, {"dbsize", ACL_CAT_KEYSPACE},
    {"move", ACL_CAT_KEYSPACE}, {"swapdb", ACL_CAT_KEYSPACE | ACL_CAT_DANGEROUS},
    {"info", ACL_CAT_DANGEROUS}, {"command", ACL_CAT_CONNECTION},
    {"lastsave", ACL_CAT_ADMIN | ACL_CAT_DANGEROUS}, {"acl", ACL_CAT_ADMIN | ACL_CAT_DANGEROUS},
    {"client", ACL_CAT_CONNECTION},
};

unsigned acl_command_categories(const struct command *cmd)
{
    unsigned c = 0;
    if (cmd->flags & CMD_WRITE)
        c |= ACL_CAT_WRITE;
    if (cmd->flags & CMD_READONLY)
        c |= ACL_CAT_READ;
    if (cmd->flags & CMD_ADMIN)
        c |= ACL_CAT_ADMIN | ACL_CAT_DANGEROUS;
    c |= (cmd->flags & CMD_FAST) ? ACL_CAT_FAST : ACL_CAT_SLOW;
    if (cmd->flags & CMD_BLOCKING)
        c |= ACL_CAT_BLOCKING;
    for (size_t i = 0; cmd->group && i < sizeof(group_categories) / sizeof(group_categories[0]); i++)
        if (strcmp(cmd->group, group_categories[i].group) == 0)
            c |= group_categories[i].cat;
    for (size_t i = 0; i < sizeof(extra_categories) / sizeof(extra_categories[0]); i++)
        if (strcmp(cmd->name, extra_categories[i].name) == 0)
            c |= extra_categories[i].cat;
    return c;
}

/* ---- users ---- */

static size_t n_commands(void)
{
    size_t n;
    command_table(&n);
    return n < ACL_CMD_WORDS * 64 ? n : ACL_CMD_WORDS * 64;
}

/* A new user, as Redis 7.0 creates one: off, sanitize-payload, no keys, resetchannels, -@all. */
static struct acl_user *user_new(const char *name, size_t len)
{
    struct acl_user *u = xcalloc(1, sizeof(*u));
    u->name = xmemdup(name, len);
    return u;
}

static void patterns_free(struct acl_pattern *p, int n)
{
    for (int i = 0; i < n; i++)
        free(p[i].pat);
    free(p);
}

static void firstargs_reset_one(struct acl_user *u, size_t id)
{
    if (u->firstargs == NULL || u->firstargs[id] == NULL)
        return;
    for (int i = 0; u->firstargs[id][i]; i++)
        free(u->firstargs[id][i]);
    free(u->firstargs[id]);
    u->firstargs[id] = NULL;
}

static void firstargs_reset(struct acl_user *u)
{
    for (size_t id = 0; u->firstargs && id < ACL_CMD_WORDS * 64; id++)
        firstargs_reset_one(u, id);
    free(u->firstargs);
    u->firstargs = NULL;
}

static void user_free(struct acl_user *u)
{
    if (u == NULL)
        return;
    free(u->name);
    free(u->pass);
    patterns_free(u->keys, u->nkeys);
    patterns_free(u->chans, u->nchans);
    firstargs_reset(u);
    free(u);
}

static struct acl_pattern *patterns_dup(const struct acl_pattern *p, int n)
{
    struct acl_pattern *d = n ? xmalloc(sizeof(*d) * (size_t)n) : NULL;
    for (int i = 0; i < n; i++) {
        d[i] = p[i];
        d[i].pat = xmemdup(p[i].pat, p[i].len);
    }
    return d;
}

static struct acl_user *user_dup(const struct acl_user *s, const char *name, size_t len)
{
    struct acl_user *u = user_new(name, len);
    u->flags = s->flags;
    u->npass = s->npass;
    u->pass = s->npass ? (char(*)[ACL_HASH_LEN + 1])xmemdup(s->pass, sizeof(*s->pass) * (size_t)s->npass) : NULL;
    u->allkeys = s->allkeys;
    u->allchannels = s->allchannels;
    u->allcommands = s->allcommands;
    u->keys = patterns_dup(s->keys, s->nkeys);
    u->nkeys = s->nkeys;
    u->chans = patterns_dup(s->chans, s->nchans);
    u->nchans = s->nchans;
    memcpy(u->cmds, s->cmds, sizeof(u->cmds));
    if (s->firstargs) {
        u->firstargs = xcalloc(ACL_CMD_WORDS * 64, sizeof(char **));
        for (size_t id = 0; id < ACL_CMD_WORDS * 64; id++) {
            int n = 0;
            while (s->firstargs[id] && s->firstargs[id][n])
                n++;
            if (n == 0)
                continue;
            u->firstargs[id] = xcalloc((size_t)n + 1, sizeof(char *));
            for (int i = 0; i < n; i++)
                u->firstargs[id][i] = xstrdup(s->firstargs[id][i]);
        }
    }
    return u;
}

/* The bit for "commands that do not exist yet" that only +@all sets (Redis's reserved bit). */
#define FUTURE_BIT (ACL_CMD_WORDS * 64 - 1)

static int cmd_bit(const struct acl_user *u, size_t id)
{
    return (u->cmds[id / 64] >> (id % 64)) & 1;
}

static void set_cmd_bit(struct acl_user *u, size_t id, int on)
{
    if (on) {
        u->cmds[id / 64] |= 1ULL << (id % 64);
    } else {
        u->cmds[id / 64] &= ~(1ULL << (id % 64));
        u->allcommands = 0;
    }
}

static void change_perm(struct acl_user *u, size_t id, int on)
{
    set_cmd_bit(u, id, on);
    firstargs_reset_one(u, id);
}

static void set_category(struct acl_user *u, unsigned cat, int on)
{
    struct command *t = command_table(&(size_t){0});
    for (size_t id = 0; id < n_commands(); id++)
        if (!(t[id].flags & CMD_INTERNAL) && (acl_command_categories(&t[id]) & cat))
            change_perm(u, id, on);
}

static void add_firstarg(struct acl_user *u, size_t id, const char *sub, size_t len)
{
    int n = 0;
    if (u->firstargs == NULL)
        u->firstargs = xcalloc(ACL_CMD_WORDS * 64, sizeof(char **));
    while (u->firstargs[id] && u->firstargs[id][n]) {
        if (strlen(u->firstargs[id][n]) == len && strncasecmp(u->firstargs[id][n], sub, len) == 0)
            return;
        n++;
    }
    u->firstargs[id] = xrealloc(u->firstargs[id], sizeof(char *) * ((size_t)n + 2));
    char *s = xmemdup(sub, len);
    for (size_t i = 0; i < len; i++)
        s[i] = (char)tolower((unsigned char)s[i]);
    u->firstargs[id][n] = s;
    u->firstargs[id][n + 1] = NULL;
}

static int has_spaces(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (isspace((unsigned char)s[i]) || s[i] == 0)
            return 1;
    return 0;
}

int acl_name_ok(const char *name, size_t len)
{
    return !has_spaces(name, len) && !(len == strlen(ACL_PEER_USER) && memcmp(name, ACL_PEER_USER, len) == 0);
}

void acl_hash_password(const char *s, size_t len, char hex[ACL_HASH_LEN + 1])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    static const char digits[] = "0123456789abcdef";
    EVP_Digest(s, len, md, &mdlen, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++) {
        hex[i * 2] = digits[md[i] >> 4];
        hex[i * 2 + 1] = digits[md[i] & 15];
    }
    hex[ACL_HASH_LEN] = '\0';
}

static int hash_ok(const char *s, size_t len)
{
    if (len != ACL_HASH_LEN)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'f') || (s[i] >= '0' && s[i] <= '9')))
            return 0;
    return 1;
}

static int find_pass(const struct acl_user *u, const char *hex)
{
    for (int i = 0; i < u->npass; i++)
        if (memcmp(u->pass[i], hex, ACL_HASH_LEN) == 0)
            return i;
    return -1;
}

enum rule_error { RE_OK, RE_SYNTAX, RE_UNKNOWN, RE_KEYS_AFTER_ALL, RE_CHANS_AFTER_ALL,
                  RE_NOPASS, RE_BADHASH, RE_SUBSUB };

static const char *rule_error_text(int e)
{
    switch (e) {
    case RE_UNKNOWN: return "Unknown command or category name in ACL";
    case RE_SYNTAX: return "Syntax error";
    case RE_KEYS_AFTER_ALL:
        return "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and "
               "does not have any effect. Try 'resetkeys' to start with an empty list of patterns";
    case RE_CHANS_AFTER_ALL:
        return "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid "
               "and does not have any effect. Try 'resetchannels' to start with an empty list of channels";
    case RE_NOPASS: return "The password you are trying to remove from the user does not exist";
    case RE_BADHASH:
        return "The password hash must be exactly 64 characters and contain only lowercase "
               "hexadecimal characters";
    case RE_SUBSUB: return "Allowing first-arg of a subcommand is not supported";
    default: return "Wrong format";
    }
}

static void add_pattern(struct acl_pattern **ps, int *n, const char *p, size_t len, int perm)
{
    for (int i = 0; i < *n; i++)
        if ((*ps)[i].len == len && memcmp((*ps)[i].pat, p, len) == 0) {
            (*ps)[i].perm |= perm;
            return;
        }
    *ps = xrealloc(*ps, sizeof(**ps) * (size_t)(*n + 1));
    (*ps)[*n] = (struct acl_pattern){xmemdup(p, len), len, perm};
    (*n)++;
}

static void clear_patterns(struct acl_pattern **ps, int *n)
{
    patterns_free(*ps, *n);
    *ps = NULL;
    *n = 0;
}

static int eq(const char *op, size_t len, const char *word)
{
    return util_eq_nocase(op, len, word);
}

/* ~pattern, %R~pattern, %W~pattern, %RW~pattern. */
static int rule_keys(struct acl_user *u, const char *op, size_t len)
{
    int perm = 0;
    size_t off = 1;
    if (u->allkeys)
        return RE_KEYS_AFTER_ALL;
    if (op[0] == '%') {
        for (; off < len; off++) {
            char ch = (char)toupper((unsigned char)op[off]);
            if (ch == 'R' && !(perm & ACL_PERM_READ)) {
                perm |= ACL_PERM_READ;
            } else if (ch == 'W' && !(perm & ACL_PERM_WRITE)) {
                perm |= ACL_PERM_WRITE;
            } else if (op[off] == '~') {
                off++;
                break;
            } else {
                return RE_SYNTAX;
            }
        }
        if (perm == 0 || op[off - 1] != '~')
            return RE_SYNTAX;
    } else {
        perm = ACL_PERM_ALL;
    }
    if (has_spaces(op + off, len - off))
        return RE_SYNTAX;
    add_pattern(&u->keys, &u->nkeys, op + off, len - off, perm);
    return RE_OK;
}

/* +cmd, -cmd, +cmd|first-arg, +@cat, -@cat. */
static int rule_commands(struct acl_user *u, const char *op, size_t len)
{
    int on = op[0] == '+';
    if (len >= 2 && op[1] == '@') {
        unsigned cat = acl_category_by_name(op + 2, len - 2);
        if (cat == 0)
            return RE_UNKNOWN;
        set_category(u, cat, on);
        return RE_OK;
    }
    const char *bar = memchr(op + 1, '|', len - 1);
    size_t nlen = bar ? (size_t)(bar - op - 1) : len - 1;
    struct command *cmd = command_lookup(op + 1, nlen);
    struct command *t = command_table(&(size_t){0});
    if (cmd == NULL || (cmd->flags & CMD_INTERNAL) || (size_t)(cmd - t) >= n_commands())
        return RE_UNKNOWN;
    size_t id = (size_t)(cmd - t);
    if (bar == NULL) {
        change_perm(u, id, on);
        return RE_OK;
    }
    if (!on)
        return RE_UNKNOWN; /* Redis: -cmd|sub names no known (sub)command here */
    size_t slen = len - nlen - 2;
    if (memchr(bar + 1, '|', slen) != NULL)
        return RE_SUBSUB;
    if (slen == 0)
        return RE_SYNTAX;
    add_firstarg(u, id, bar + 1, slen);
    return RE_OK;
}

/* One modifier of ACL SETUSER applied to U. Returns RE_OK or an enum rule_error. */
static int rule_apply(struct acl_user *u, const char *op, size_t len)
{
    char hex[ACL_HASH_LEN + 1];
    if (len == 0)
        return RE_OK;
    if (eq(op, len, "on")) {
        u->flags |= ACL_USER_ON;
    } else if (eq(op, len, "off")) {
        u->flags &= ~(unsigned)ACL_USER_ON;
    } else if (eq(op, len, "skip-sanitize-payload")) {
        u->flags |= ACL_USER_SKIP_SANITIZE;
    } else if (eq(op, len, "sanitize-payload")) {
        u->flags &= ~(unsigned)ACL_USER_SKIP_SANITIZE;
    } else if (eq(op, len, "nopass") || eq(op, len, "resetpass")) {
        if (eq(op, len, "nopass"))
            u->flags |= ACL_USER_NOPASS;
        else
            u->flags &= ~(unsigned)ACL_USER_NOPASS;
        free(u->pass);
        u->pass = NULL;
        u->npass = 0;
    } else if (op[0] == '>' || op[0] == '#' || op[0] == '<' || op[0] == '!') {
        if (op[0] == '>' || op[0] == '<') {
            acl_hash_password(op + 1, len - 1, hex);
        } else {
            if (!hash_ok(op + 1, len - 1))
                return RE_BADHASH;
            memcpy(hex, op + 1, ACL_HASH_LEN);
            hex[ACL_HASH_LEN] = '\0';
        }
        int at = find_pass(u, hex);
        if (op[0] == '>' || op[0] == '#') {
            if (at < 0) {
                u->pass = xrealloc(u->pass, sizeof(*u->pass) * (size_t)(u->npass + 1));
                memcpy(u->pass[u->npass++], hex, ACL_HASH_LEN + 1);
            }
            u->flags &= ~(unsigned)ACL_USER_NOPASS;
        } else {
            if (at < 0)
                return RE_NOPASS;
            memmove(u->pass + at, u->pass + at + 1, sizeof(*u->pass) * (size_t)(u->npass - at - 1));
            u->npass--;
        }
    } else if (eq(op, len, "reset")) {
        rule_apply(u, "resetpass", 9);
        rule_apply(u, "resetkeys", 9);
        rule_apply(u, "resetchannels", 13);
        rule_apply(u, "off", 3);
        rule_apply(u, "sanitize-payload", 16);
        rule_apply(u, "-@all", 5);
    } else if (eq(op, len, "allkeys") || (len == 2 && memcmp(op, "~*", 2) == 0)) {
        clear_patterns(&u->keys, &u->nkeys);
        u->allkeys = 1;
    } else if (eq(op, len, "resetkeys")) {
        clear_patterns(&u->keys, &u->nkeys);
        u->allkeys = 0;
    } else if (eq(op, len, "allchannels") || (len == 2 && memcmp(op, "&*", 2) == 0)) {
        clear_patterns(&u->chans, &u->nchans);
        u->allchannels = 1;
    } else if (eq(op, len, "resetchannels")) {
        clear_patterns(&u->chans, &u->nchans);
        u->allchannels = 0;
    } else if (eq(op, len, "allcommands") || eq(op, len, "+@all")) {
        memset(u->cmds, 0xff, sizeof(u->cmds));
        u->allcommands = 1;
        firstargs_reset(u);
    } else if (eq(op, len, "nocommands") || eq(op, len, "-@all")) {
        memset(u->cmds, 0, sizeof(u->cmds));
        u->allcommands = 0;
        firstargs_reset(u);
    } else if (op[0] == '~' || op[0] == '%') {
        return rule_keys(u, op, len);
    } else if (op[0] == '&') {
        if (u->allchannels)
            return RE_CHANS_AFTER_ALL;
        if (has_spaces(op + 1, len - 1))
            return RE_SYNTAX;
        add_pattern(&u->chans, &u->nchans, op + 1, len - 1, ACL_PERM_ALL);
    } else if ((op[0] == '+' || op[0] == '-') && len > 1) {
        return rule_commands(u, op, len);
    } else {
        return RE_SYNTAX;
    }
    return RE_OK;
}

static struct acl_user *default_user(void)
{
    struct acl_user *u = user_new("default", 7);
    rule_apply(u, "+@all", 5);
    rule_apply(u, "~*", 2);
    rule_apply(u, "&*", 2);
    rule_apply(u, "on", 2);
    rule_apply(u, "nopass", 6);
    return u;
}

struct acl_store *acl_new(void)
{
    struct acl_store *a = xcalloc(1, sizeof(*a));
    a->users = xmalloc(sizeof(*a->users));
    a->users[0] = default_user();
    a->n = 1;
    return a;
}

static void users_free(struct acl_store *a)
{
    for (int i = 0; i < a->n; i++)
        user_free(a->users[i]);
    free(a->users);
    a->users = NULL;
    a->n = 0;
}

void acl_reset_users(struct acl_store *a)
{
    users_free(a);
    a->users = xmalloc(sizeof(*a->users));
    a->users[0] = default_user();
    a->n = 1;
    a->gen++;
}

void acl_free(struct acl_store *a)
{
    if (a == NULL)
        return;
    users_free(a);
    acl_log_reset(a);
    free(a);
}

/* Index of NAME in A's sorted users, or -(insertion point) - 1. */
static int user_index(const struct acl_store *a, const char *name, size_t len)
{
    int lo = 0, hi = a->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const char *m = a->users[mid]->name;
        size_t ml = strlen(m);
        int c = memcmp(m, name, ml < len ? ml : len);
        if (c == 0)
            c = ml < len ? -1 : ml > len;
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -lo - 1;
}

struct acl_user *acl_user_find(const struct acl_store *a, const char *name, size_t len)
{
    int i = user_index(a, name, len);
    return i >= 0 ? a->users[i] : NULL;
}

/* The user NAME with ARGC rules applied, built apart from A; NULL with ERR on error. */
static struct acl_user *staged_user(const struct acl_store *a, const char *name, size_t nlen,
                                    int argc, char *const *argv, const size_t *len, char *err,
                                    size_t errlen)
{
    if (!acl_name_ok(name, nlen)) {
        snprintf(err, errlen, "Usernames can't contain spaces or null characters");
        return NULL;
    }
    const struct acl_user *old = acl_user_find(a, name, nlen);
    struct acl_user *u = old ? user_dup(old, name, nlen) : user_new(name, nlen);
    if (old == NULL && a->pubsub_all)
        rule_apply(u, "allchannels", 11);
    for (int i = 0; i < argc; i++) {
        int e = rule_apply(u, argv[i], len[i]);
        if (e == RE_OK && a->pubsub_all && eq(argv[i], len[i], "reset"))
            e = rule_apply(u, "allchannels", 11);
        if (e != RE_OK) {
            snprintf(err, errlen, "Error in ACL SETUSER modifier '%.*s': %s", (int)(len[i] > 128 ? 128 : len[i]),
                     argv[i], rule_error_text(e));
            user_free(u);
            return NULL;
        }
    }
    return u;
}

int acl_setuser_check(const struct acl_store *a, const char *name, size_t nlen, int argc,
                      char *const *argv, const size_t *len, char *err, size_t errlen)
{
    struct acl_user *u = staged_user(a, name, nlen, argc, argv, len, err, errlen);
    user_free(u);
    return u ? 0 : -1;
}

int acl_setuser(struct acl_store *a, const char *name, size_t nlen, int argc, char *const *argv,
                const size_t *len, char *err, size_t errlen)
{
    struct acl_user *u = staged_user(a, name, nlen, argc, argv, len, err, errlen);
    if (u == NULL)
        return -1;
    int i = user_index(a, name, nlen);
    if (i >= 0) {
        user_free(a->users[i]);
        a->users[i] = u;
    } else {
        i = -i - 1;
        a->users = xrealloc(a->users, sizeof(*a->users) * (size_t)(a->n + 1));
        memmove(a->users + i + 1, a->users + i, sizeof(*a->users) * (size_t)(a->n - i));
        a->users[i] = u;
        a->n++;
    }
    a->gen++;
    return 0;
}

int acl_deluser(struct acl_store *a, int argc, char *const *argv, const size_t *len)
{
    int deleted = 0;
    for (int k = 0; k < argc; k++) {
        if (len[k] == 7 && memcmp(argv[k], "default", 7) == 0)
            continue;
        int i = user_index(a, argv[k], len[k]);
        if (i < 0)
            continue;
        user_free(a->users[i]);
        memmove(a->users + i, a->users + i + 1, sizeof(*a->users) * (size_t)(a->n - i - 1));
        a->n--;
        deleted++;
    }
    if (deleted)
        a->gen++;
    return deleted;
}

/* ---- authentication ---- */

static int hex_equal(const char *x, const char *y)
{
    unsigned char d = 0;
    for (int i = 0; i < ACL_HASH_LEN; i++)
        d |= (unsigned char)(x[i] ^ y[i]);
    return d == 0;
}

static int is_default(const struct acl_user *u)
{
    return strcmp(u->name, "default") == 0;
}

int acl_authenticate(const struct acl_store *a, const char *name, size_t nlen, const char *pass,
                     size_t plen, const char *requirepass)
{
    char hex[ACL_HASH_LEN + 1], want[ACL_HASH_LEN + 1];
    const struct acl_user *u = acl_user_find(a, name, nlen);
    if (u == NULL || !(u->flags & ACL_USER_ON))
        return -1;
    acl_hash_password(pass, plen, hex);
    if (is_default(u) && requirepass != NULL) {
        acl_hash_password(requirepass, strlen(requirepass), want);
        return hex_equal(hex, want) ? 0 : -1;
    }
    if (u->flags & ACL_USER_NOPASS)
        return 0;
    int ok = 0;
    for (int i = 0; i < u->npass; i++)
        ok |= hex_equal(hex, u->pass[i]);
    return ok ? 0 : -1;
}

int acl_default_user_open(const struct acl_store *a, const char *requirepass)
{
    const struct acl_user *u = acl_user_find(a, "default", 7);
    return requirepass == NULL && u != NULL && (u->flags & ACL_USER_ON) && (u->flags & ACL_USER_NOPASS);
}

int acl_has_password_users(const struct acl_store *a)
{
    for (int i = 0; i < a->n; i++)
        if (a->users[i]->npass > 0)
            return 1;
    return 0;
}

/* ---- checks ---- */

static int key_allowed(const struct acl_user *u, const char *key, size_t klen, int perm)
{
    if (u->allkeys)
        return 1;
    for (int i = 0; i < u->nkeys; i++)
        if ((u->keys[i].perm & perm) == perm &&
            util_glob_match(u->keys[i].pat, u->keys[i].len, key, klen, 0))
            return 1;
    return 0;
}

int acl_channel_allowed(const struct acl_user *u, const char *ch, size_t len, int is_pattern)
{
    if (u->allchannels)
        return 1;
    for (int i = 0; i < u->nchans; i++) {
        const struct acl_pattern *p = &u->chans[i];
        if (is_pattern ? p->len == len && memcmp(p->pat, ch, len) == 0
                       : util_glob_match(p->pat, p->len, ch, len, 0))
            return 1;
    }
    return 0;
}

/* The channels REQ publishes or subscribes to (Redis's getChannelsFromCommand: PUBLISH and
 * SPUBLISH name one, the subscribe family all of theirs; unsubscribing is never checked):
 * ACL_OK or ACL_DENIED_CHANNEL with *ARGPOS at the first refused one. */
static int channels_check(const struct acl_user *u, const struct command *cmd,
                          const struct request *req, int *argpos)
{
    int last, pattern = 0;
    if (strcmp(cmd->name, "publish") == 0 || strcmp(cmd->name, "spublish") == 0)
        last = 1;
    else if (strcmp(cmd->name, "subscribe") == 0 || strcmp(cmd->name, "ssubscribe") == 0)
        last = req->argc - 1;
    else if (strcmp(cmd->name, "psubscribe") == 0)
        last = req->argc - 1, pattern = 1;
    else
        return ACL_OK;
    for (int i = 1; i <= last && i < req->argc; i++) {
        if (!acl_channel_allowed(u, req->argv[i], req->len[i], pattern)) {
            *argpos = i;
            return ACL_DENIED_CHANNEL;
        }
    }
    return ACL_OK;
}

int acl_check(const struct acl_user *u, const struct command *cmd, const struct request *req,
              int *argpos)
{
    struct command *t = command_table(&(size_t){0});
    size_t id = (size_t)(cmd - t);
    *argpos = 0;
    if (u == NULL)
        return ACL_OK;
    if (!u->allcommands && !(cmd->flags & CMD_NOAUTH) && (id >= n_commands() || !cmd_bit(u, id))) {
        char **fa = u->firstargs && id < n_commands() ? u->firstargs[id] : NULL;
        int ok = 0;
        for (int i = 0; fa && fa[i] && req->argc >= 2 && !ok; i++)
            ok = util_eq_nocase(req->argv[1], req->len[1], fa[i]);
        if (!ok)
            return ACL_DENIED_CMD;
    }
    int rc = ACL_OK;
    if (!u->allkeys) {
        struct command_keys ks;
        command_get_keys(cmd, req, &ks);
        for (int i = 0; i < ks.n && rc == ACL_OK; i++) {
            int k = ks.v[i].pos;
            int perm = ks.v[i].write ? ACL_PERM_WRITE : ACL_PERM_READ;
            if (!key_allowed(u, req->argv[k], req->len[k], perm)) {
                *argpos = k;
                rc = ACL_DENIED_KEY;
            }
        }
        command_keys_close(&ks);
    }
    if (rc == ACL_OK && !u->allchannels && cmd->group != NULL && strcmp(cmd->group, "pubsub") == 0)
        rc = channels_check(u, cmd, req, argpos);
    return rc;
}

void acl_noperm_message(int result, const struct command *cmd, char *out, size_t outlen)
{
    if (result == ACL_DENIED_CMD)
        snprintf(out, outlen, "NOPERM this user has no permissions to run the '%s' command", cmd->name);
    else if (result == ACL_DENIED_KEY)
        snprintf(out, outlen, "NOPERM this user has no permissions to access one of the keys used as arguments");
    else if (result == ACL_DENIED_CHANNEL)
        snprintf(out, outlen, "NOPERM this user has no permissions to access one of the channels used as arguments");
    else
        snprintf(out, outlen, "NOPERM no permission");
}

/* ---- descriptions ---- */

static void describe_pattern(struct buf *out, const struct acl_pattern *p)
{
    buf_append_str(out, p->perm == ACL_PERM_ALL ? "~" : p->perm == ACL_PERM_READ ? "%R~" : "%W~");
    buf_append(out, p->pat, p->len);
}

void acl_describe_keys(const struct acl_user *u, struct buf *out)
{
    if (u->allkeys) {
        buf_append_str(out, "~*");
        return;
    }
    for (int i = 0; i < u->nkeys; i++) {
        if (i > 0)
            buf_append_str(out, " ");
        describe_pattern(out, &u->keys[i]);
    }
}

void acl_describe_channels(const struct acl_user *u, struct buf *out)
{
    if (u->allchannels) {
        buf_append_str(out, "&*");
        return;
    }
    for (int i = 0; i < u->nchans; i++)
        buf_printf(out, "%s&%.*s", i ? " " : "", (int)u->chans[i].len, u->chans[i].pat);
}

/* Commands of category CAT that U allows (*ON) and denies (*OFF). */
static void count_category(const struct acl_user *u, unsigned cat, size_t *on, size_t *off)
{
    struct command *t = command_table(&(size_t){0});
    *on = *off = 0;
    for (size_t id = 0; id < n_commands(); id++)
        if (!(t[id].flags & CMD_INTERNAL) && (acl_command_categories(&t[id]) & cat))
            (*(cmd_bit(u, id) ? on : off))++;
}

/* Redis's approach: start from +@all or -@all, greedily apply the categories that best fit
 * the bitmap (tracked on FAKE), then name the single commands that still differ. */
void acl_describe_commands(const struct acl_user *u, struct buf *out)
{
    struct acl_user fake = {0}, temp = {0};
    struct command *t = command_table(&(size_t){0});
    int additive = !cmd_bit(u, FUTURE_BIT);
    char applied[32] = {0};

    buf_append_str(out, additive ? "-@all" : "+@all");
    if (!additive)
        memset(fake.cmds, 0xff, sizeof(fake.cmds));
    memcpy(temp.cmds, u->cmds, sizeof(temp.cmds));
    for (;;) {
        int best = -1;
        size_t mindiff = (size_t)-1, maxsame = 0;
        for (int j = 0; category_names[j] != NULL; j++) {
            size_t on, off;
            if (applied[j])
                continue;
            count_category(&temp, 1u << j, &on, &off);
            size_t diff = additive ? off : on, same = additive ? on : off;
            if (same > diff && (diff < mindiff || (diff == mindiff && same > maxsame))) {
                best = j;
                mindiff = diff;
                maxsame = same;
            }
        }
        if (best < 0)
            break;
        set_category(&fake, 1u << best, additive);
        set_category(&temp, 1u << best, !additive);
        buf_printf(out, " %s@%s", additive ? "+" : "-", category_names[best]);
        applied[best] = 1;
    }
    for (size_t id = 0; id < n_commands(); id++) {
        if (t[id].flags & CMD_INTERNAL)
            continue;
        int ub = cmd_bit(u, id);
        if (ub != cmd_bit(&fake, id)) {
            buf_printf(out, " %s%s", ub ? "+" : "-", t[id].name);
            set_cmd_bit(&fake, id, ub);
        }
        for (int k = 0; !ub && u->firstargs && u->firstargs[id] && u->firstargs[id][k]; k++)
            buf_printf(out, " +%s|%s", t[id].name, u->firstargs[id][k]);
    }
}

void acl_describe_user(const struct acl_user *u, const char *requirepass, struct buf *out)
{
    int override = requirepass != NULL && is_default(u);
    unsigned flags = u->flags;
    if (override)
        flags &= ~(unsigned)ACL_USER_NOPASS;
    buf_append_str(out, (flags & ACL_USER_ON) ? "on" : "off");
    if (flags & ACL_USER_NOPASS)
        buf_append_str(out, " nopass");
    buf_append_str(out, (flags & ACL_USER_SKIP_SANITIZE) ? " skip-sanitize-payload" : " sanitize-payload");
    if (override) {
        char hex[ACL_HASH_LEN + 1];
        acl_hash_password(requirepass, strlen(requirepass), hex);
        buf_printf(out, " #%s", hex);
    } else {
        for (int i = 0; i < u->npass; i++)
            buf_printf(out, " #%s", u->pass[i]);
    }
    if (u->allkeys || u->nkeys) {
        buf_append_str(out, " ");
        acl_describe_keys(u, out);
    }
    if (u->allchannels) {
        buf_append_str(out, " &*");
    } else {
        buf_append_str(out, " resetchannels");
        for (int i = 0; i < u->nchans; i++)
            buf_printf(out, " &%.*s", (int)u->chans[i].len, u->chans[i].pat);
    }
    buf_append_str(out, " ");
    acl_describe_commands(u, out);
}

/* ---- serialization ---- */

void acl_serialize(const struct acl_store *a, struct buf *out)
{
    for (int i = 0; i < a->n; i++) {
        buf_printf(out, "user %s ", a->users[i]->name);
        /* start from a known state so that the line alone rebuilds the user */
        buf_append_str(out, "reset ");
        acl_describe_user(a->users[i], NULL, out);
        buf_append_str(out, "\n");
    }
}

/* Split LINE (LEN bytes) at whitespace into WORDS (pointers into a copy in *COPY). */
static int split_words(const char *line, size_t len, char **copy, char ***words, size_t **lens)
{
    int n = 0, cap = 0;
    *copy = xmemdup(line, len);
    *words = NULL;
    *lens = NULL;
    for (size_t i = 0; i < len;) {
        while (i < len && isspace((unsigned char)(*copy)[i]))
            i++;
        if (i >= len)
            break;
        size_t s = i;
        while (i < len && !isspace((unsigned char)(*copy)[i]))
            i++;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            *words = xrealloc(*words, sizeof(char *) * (size_t)cap);
            *lens = xrealloc(*lens, sizeof(size_t) * (size_t)cap);
        }
        (*copy)[i < len ? i : len] = '\0';
        (*words)[n] = *copy + s;
        (*lens)[n++] = i - s;
        i++;
    }
    return n;
}

int acl_load_text(struct acl_store *a, const char *text, size_t len, char *err, size_t errlen)
{
    struct acl_store staged = {.pubsub_all = a->pubsub_all};
    int lineno = 0, rc = 0, default_seen = 0;
    acl_reset_users(&staged);
    for (size_t pos = 0; pos < len && rc == 0;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t llen = nl ? (size_t)(nl - text - pos) : len - pos;
        char *copy, **w;
        size_t *wl;
        lineno++;
        int n = split_words(text + pos, llen, &copy, &w, &wl);
        pos += llen + 1;
        if (n > 0 && w[0][0] != '#') {
            char msg[300];
            if (n < 2 || !util_eq_nocase(w[0], wl[0], "user")) {
                snprintf(err, errlen, ":%d: should start with user keyword", lineno);
                rc = -1;
            } else if (acl_user_find(&staged, w[1], wl[1]) != NULL &&
                       (!(wl[1] == 7 && memcmp(w[1], "default", 7) == 0) || default_seen++)) {
                snprintf(err, errlen, ":%d: Duplicate user '%.64s' found", lineno, w[1]);
                rc = -1;
            } else if (acl_setuser(&staged, w[1], wl[1], n - 2, w + 2, wl + 2, msg, sizeof(msg)) != 0) {
                snprintf(err, errlen, ":%d: %s", lineno, msg);
                rc = -1;
            }
        }
        free(copy);
        free(w);
        free(wl);
    }
    if (rc != 0) {
        users_free(&staged);
        return -1;
    }
    users_free(a);
    a->users = staged.users;
    a->n = staged.n;
    a->gen++;
    return 0;
}

/* ---- ACL LOG ---- */

static void log_entry_free(struct acl_log_entry *e)
{
    free(e->object);
    free(e->username);
    free(e->cinfo);
}

void acl_log_reset(struct acl_store *a)
{
    for (int i = 0; i < a->nlog; i++)
        log_entry_free(&a->log[i]);
    free(a->log);
    a->log = NULL;
    a->nlog = 0;
}

#define ACL_LOG_GROUP_MS 60000

void acl_log_add(struct acl_store *a, int reason, int multi, const char *object,
                 const char *username, const char *cinfo, int64_t now_ms)
{
    for (int i = 0; i < a->nlog && i < 10; i++) {
        struct acl_log_entry *e = &a->log[i];
        int64_t d = now_ms - e->ctime_ms;
        if (e->reason == reason && e->multi == multi && (d < 0 ? -d : d) <= ACL_LOG_GROUP_MS &&
            strcmp(e->object, object) == 0 && strcmp(e->username, username) == 0) {
            struct acl_log_entry m = *e;
            free(m.cinfo);
            m.cinfo = xstrdup(cinfo);
            m.ctime_ms = now_ms;
            m.count++;
            memmove(a->log + 1, a->log, sizeof(*a->log) * (size_t)i);
            a->log[0] = m;
            return;
        }
    }
    if (a->nlog == ACL_LOG_MAX)
        log_entry_free(&a->log[--a->nlog]);
    a->log = xrealloc(a->log, sizeof(*a->log) * (size_t)(a->nlog + 1));
    memmove(a->log + 1, a->log, sizeof(*a->log) * (size_t)a->nlog);
    a->log[0] = (struct acl_log_entry){1, reason, multi, xstrdup(object), xstrdup(username),
                                       xstrdup(cinfo), now_ms};
    a->nlog++;
}
