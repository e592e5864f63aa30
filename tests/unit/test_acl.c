/* Unit tests of acl.c: the SETUSER rule parser (Redis 7.0's texts), permission checks of
 * commands, first arguments, keys (read/write patterns) and channels, authentication with hashed
 * passwords and requirepass, the ACL LIST description, categories derived from the command
 * table, the serialization round trip and the ACL LOG's grouping. Pure: no server. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "acl.h"
#include "cmdtest.h"
#include "command.h"
#include "util.h"

static struct acl_store *a;

static void setup(void)
{
    command_init();
    a = acl_new();
}

static void teardown(void)
{
    acl_free(a);
}

TestSuite(acl, .init = setup, .fini = teardown);

/* Apply the space-separated RULES to user NAME; returns 0 or -1, the error in ERR. */
static int setuser(const char *name, const char *rules, char *err)
{
    struct request *r = ct_request(rules);
    char e[512];
    int rc = acl_setuser(a, name, strlen(name), r->argc, r->argv, r->len, err ? err : e, 512);
    request_free(r);
    return rc;
}

/* ACL LIST's line for NAME in a static buffer. */
static const char *describe(const char *name)
{
    static char line[2048];
    struct buf b;
    buf_init(&b);
    acl_describe_user(acl_user_find(a, name, strlen(name)), NULL, &b);
    snprintf(line, sizeof(line), "%.*s", (int)b.len, b.data);
    buf_close(&b);
    return line;
}

/* acl_check of the command line LINE for user NAME. */
static int check(const char *name, const char *line, int *pos)
{
    struct request *r = ct_request(line);
    int p = 0;
    struct command *cmd = command_lookup(r->argv[0], r->len[0]);
    cr_assert_not_null(cmd, "no command %s", r->argv[0]);
    int rc = acl_check(acl_user_find(a, name, strlen(name)), cmd, r, &p);
    if (pos)
        *pos = p;
    request_free(r);
    return rc;
}

/* The default user is described exactly as Redis 7.0 lists it. */
Test(acl, default_user_matches_redis)
{
    cr_assert_str_eq(describe("default"), "on nopass sanitize-payload ~* &* +@all");
    cr_assert_eq(a->n, 1);
}

/* A user created with no rules is off, has no keys, resets channels and may run nothing. */
Test(acl, new_user_is_off_and_empty)
{
    cr_assert_eq(setuser("alice", "on", NULL), 0);
    cr_assert_str_eq(describe("alice"), "on sanitize-payload resetchannels -@all");
    cr_assert_eq(check("alice", "get k", NULL), ACL_DENIED_CMD);
    cr_assert_eq(check("alice", "auth x", NULL), ACL_OK); /* no-auth commands always run */
}

/* acl-pubsub-default allchannels (the store's pubsub_all, as apply sets it from a record): a
 * new user, and "reset", start with every channel; a user that exists keeps its channels;
 * adding a channel to a new user is Redis's error; an ACL file's users are made the same way. */
Test(acl, pubsub_default_allchannels)
{
    char err[512];
    cr_assert_eq(setuser("before", "on", NULL), 0);
    a->pubsub_all = 1;
    cr_assert_eq(setuser("alice", "on", NULL), 0);
    cr_assert_str_eq(describe("alice"), "on sanitize-payload &* -@all");
    cr_assert_eq(setuser("before", "+@all", NULL), 0);
    cr_assert_str_eq(describe("before"), "on sanitize-payload resetchannels +@all");
    cr_assert_eq(setuser("before", "reset", NULL), 0);
    cr_assert_str_eq(describe("before"), "off sanitize-payload &* -@all");
    cr_assert_eq(setuser("bob", "&news", err), -1);
    cr_assert(strstr(err, "Adding a pattern after the * pattern") != NULL, "%s", err);
    cr_assert_eq(setuser("carol", "resetchannels &news", NULL), 0);
    cr_assert_str_eq(describe("carol"), "off sanitize-payload resetchannels &news -@all");
    const char *file = "user dave on nopass ~* +@all\n";
    cr_assert_eq(acl_load_text(a, file, strlen(file), err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(describe("dave"), "on nopass sanitize-payload ~* &* +@all");
    a->pubsub_all = 0;
    cr_assert_eq(setuser("erin", "reset", NULL), 0);
    cr_assert_str_eq(describe("erin"), "off sanitize-payload resetchannels -@all");
}

/* Passwords are stored as SHA-256 hex; > and # add, < and ! remove, nopass/resetpass clear. */
Test(acl, passwords_are_hashed)
{
    char hex[ACL_HASH_LEN + 1];
    acl_hash_password("secret", 6, hex);
    cr_assert_str_eq(hex, "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b");
    cr_assert_eq(setuser("bob", "on >secret", NULL), 0);
    cr_assert(strstr(describe("bob"), "#2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b") != NULL);
    cr_assert_eq(acl_authenticate(a, "bob", 3, "secret", 6, NULL), 0);
    cr_assert_eq(acl_authenticate(a, "bob", 3, "wrong", 5, NULL), -1);
    cr_assert_eq(acl_authenticate(a, "nobody", 6, "secret", 6, NULL), -1);
    cr_assert_eq(setuser("bob", "<secret", NULL), 0);
    cr_assert_eq(acl_authenticate(a, "bob", 3, "secret", 6, NULL), -1);
    char line[80];
    snprintf(line, sizeof(line), "#%s", hex);
    cr_assert_eq(setuser("bob", line, NULL), 0);
    cr_assert_eq(acl_authenticate(a, "bob", 3, "secret", 6, NULL), 0);
    cr_assert_eq(setuser("bob", "off", NULL), 0);
    cr_assert_eq(acl_authenticate(a, "bob", 3, "secret", 6, NULL), -1, "a disabled user cannot log in");
    cr_assert(acl_has_password_users(a));
}

/* requirepass is the default user's password on this node, in place of nopass. */
Test(acl, requirepass_is_the_default_password)
{
    cr_assert(acl_default_user_open(a, NULL));
    cr_assert(!acl_default_user_open(a, "pw"));
    cr_assert_eq(acl_authenticate(a, "default", 7, "pw", 2, "pw"), 0);
    cr_assert_eq(acl_authenticate(a, "default", 7, "other", 5, "pw"), -1);
    cr_assert_eq(acl_authenticate(a, "default", 7, "anything", 8, NULL), 0);
}

/* Rule errors carry Redis's texts, and a failing SETUSER changes nothing. */
Test(acl, errors_leave_the_user_unchanged)
{
    char err[512];
    cr_assert_eq(setuser("carol", "on +get", NULL), 0);
    const char *before = describe("carol");
    char saved[512];
    snprintf(saved, sizeof(saved), "%s", before);
    cr_assert_eq(setuser("carol", "+set +nosuchcmd", err), -1);
    cr_assert_str_eq(err, "Error in ACL SETUSER modifier '+nosuchcmd': Unknown command or category name in ACL");
    cr_assert_str_eq(describe("carol"), saved);
    cr_assert_eq(setuser("carol", "+@nosuchcat", err), -1);
    cr_assert_str_eq(err, "Error in ACL SETUSER modifier '+@nosuchcat': Unknown command or category name in ACL");
    cr_assert_eq(setuser("carol", "bogus", err), -1);
    cr_assert_str_eq(err, "Error in ACL SETUSER modifier 'bogus': Syntax error");
    cr_assert_eq(setuser("carol", "#abc", err), -1);
    cr_assert_str_eq(err, "Error in ACL SETUSER modifier '#abc': The password hash must be exactly 64 "
                          "characters and contain only lowercase hexadecimal characters");
    cr_assert_eq(setuser("carol", "<nothere", err), -1);
    cr_assert_str_eq(err, "Error in ACL SETUSER modifier '<nothere': The password you are trying to "
                          "remove from the user does not exist");
    cr_assert_eq(setuser("carol", "allkeys ~foo", err), -1);
    cr_assert(strstr(err, "Adding a pattern after the * pattern (or the 'allkeys' flag)") != NULL);
    cr_assert_eq(setuser("carol", "allchannels &foo", err), -1);
    cr_assert(strstr(err, "'allchannels' flag") != NULL);
    cr_assert_eq(setuser("bad name", "on", err), -1);
    cr_assert_str_eq(err, "Usernames can't contain spaces or null characters");
    cr_assert_str_eq(describe("carol"), saved);
    cr_assert_null(acl_user_find(a, "bad name", 8));
}

/* +@read ~app:* may read app:* keys only, and write nothing. */
Test(acl, read_only_user_on_a_prefix)
{
    int pos;
    cr_assert_eq(setuser("reader", "on nopass +@read ~app:*", NULL), 0);
    cr_assert_eq(check("reader", "get app:1", NULL), ACL_OK);
    cr_assert_eq(check("reader", "get other", &pos), ACL_DENIED_KEY);
    cr_assert_eq(pos, 1);
    cr_assert_eq(check("reader", "mget app:1 app:2 zz", &pos), ACL_DENIED_KEY);
    cr_assert_eq(pos, 3);
    cr_assert_eq(check("reader", "set app:1 v", NULL), ACL_DENIED_CMD);
    cr_assert_eq(check("reader", "hget app:h f", NULL), ACL_OK);
    cr_assert_eq(check("reader", "del app:1", NULL), ACL_DENIED_CMD);
}

/* %R~ and %W~ patterns grant only reads or only writes of their keys. */
Test(acl, read_and_write_key_patterns)
{
    int pos;
    cr_assert_eq(setuser("rw", "on +@all %R~r:* %W~w:*", NULL), 0);
    cr_assert_eq(check("rw", "get r:1", NULL), ACL_OK);
    cr_assert_eq(check("rw", "set r:1 v", NULL), ACL_DENIED_KEY);
    cr_assert_eq(check("rw", "set w:1 v", NULL), ACL_OK);
    cr_assert_eq(check("rw", "get w:1", NULL), ACL_DENIED_KEY);
    /* MSET's keys are every other argument: the values are not checked */
    cr_assert_eq(check("rw", "mset w:1 x w:2 y", NULL), ACL_OK);
    cr_assert_eq(check("rw", "mset w:1 x r:2 y", &pos), ACL_DENIED_KEY);
    cr_assert_eq(pos, 3);
    cr_assert_str_eq(describe("rw"), "on sanitize-payload %R~r:* %W~w:* resetchannels +@all");
    cr_assert_eq(setuser("rw", "%RW~r:*", NULL), 0);
    cr_assert_eq(check("rw", "set r:1 v", NULL), ACL_OK);
    cr_assert_eq(setuser("rw", "resetkeys", NULL), 0);
    cr_assert_eq(check("rw", "get r:1", NULL), ACL_DENIED_KEY);
    cr_assert_eq(check("rw", "ping", NULL), ACL_OK, "keyless commands need no pattern");
}

/* Channel patterns (Redis 7.0): PUBLISH, SPUBLISH and the subscribe family need a matching
 * &pattern unless the user has allchannels; a PSUBSCRIBE pattern must equal one of the
 * user's patterns literally; unsubscribing is never refused. A new user has no channels. */
Test(acl, channel_patterns)
{
    int pos;
    cr_assert_eq(setuser("c", "on +@all ~* &news.* &exact", NULL), 0);
    cr_assert_eq(check("c", "publish news.x hi", NULL), ACL_OK);
    cr_assert_eq(check("c", "publish exact hi", NULL), ACL_OK);
    cr_assert_eq(check("c", "publish other hi", &pos), ACL_DENIED_CHANNEL);
    cr_assert_eq(pos, 1);
    cr_assert_eq(check("c", "spublish exactly hi", NULL), ACL_DENIED_CHANNEL);
    cr_assert_eq(check("c", "subscribe news.a exact", NULL), ACL_OK);
    cr_assert_eq(check("c", "subscribe news.a other exact", &pos), ACL_DENIED_CHANNEL);
    cr_assert_eq(pos, 2);
    cr_assert_eq(check("c", "ssubscribe other", NULL), ACL_DENIED_CHANNEL);
    cr_assert_eq(check("c", "psubscribe news.*", NULL), ACL_OK);
    cr_assert_eq(check("c", "psubscribe news.a*", NULL), ACL_DENIED_CHANNEL, "a pattern matches literally");
    cr_assert_eq(check("c", "unsubscribe other", NULL), ACL_OK);
    cr_assert_eq(check("c", "punsubscribe x*", NULL), ACL_OK);
    cr_assert_eq(check("c", "pubsub numsub other", NULL), ACL_OK);
    cr_assert_eq(setuser("none", "on +@all ~*", NULL), 0);
    cr_assert_eq(check("none", "publish news.x hi", NULL), ACL_DENIED_CHANNEL);
    cr_assert_eq(setuser("none", "allchannels", NULL), 0);
    cr_assert_eq(check("none", "psubscribe *", NULL), ACL_OK);
    cr_assert_eq(check("default", "subscribe anything", NULL), ACL_OK);
}

/* Keys counted by a numkeys argument are checked too: a user limited to ~a* can neither
 * store into nor read from other keys through ZUNIONSTORE, ZUNION, SINTERCARD, ZMPOP. */
Test(acl, numkeys_commands_check_every_key)
{
    int pos;
    cr_assert_eq(setuser("a", "on nopass +@all ~a*", NULL), 0);
    cr_assert_eq(check("a", "zunionstore b 1 a", &pos), ACL_DENIED_KEY);
    cr_assert_eq(pos, 1);
    cr_assert_eq(check("a", "zunionstore a 2 a1 b", &pos), ACL_DENIED_KEY);
    cr_assert_eq(pos, 4);
    cr_assert_eq(check("a", "zunionstore a 2 a1 a2 WEIGHTS 1 2", NULL), ACL_OK);
    cr_assert_eq(check("a", "zinterstore a 1 b", &pos), ACL_DENIED_KEY);
    cr_assert_eq(check("a", "zdiffstore a 2 a b", &pos), ACL_DENIED_KEY);
    cr_assert_eq(pos, 4);
    cr_assert_eq(check("a", "zunion 2 a b", &pos), ACL_DENIED_KEY);
    cr_assert_eq(pos, 3);
    cr_assert_eq(check("a", "zinter 1 b", NULL), ACL_DENIED_KEY);
    cr_assert_eq(check("a", "zdiff 2 a1 b", NULL), ACL_DENIED_KEY);
    cr_assert_eq(check("a", "zintercard 2 a b LIMIT 1", NULL), ACL_DENIED_KEY);
    cr_assert_eq(check("a", "sintercard 2 a b", &pos), ACL_DENIED_KEY);
    cr_assert_eq(pos, 3);
    cr_assert_eq(check("a", "zmpop 2 a b MIN", &pos), ACL_DENIED_KEY);
    cr_assert_eq(pos, 3);
    cr_assert_eq(check("a", "zmpop 1 a MIN", NULL), ACL_OK);
    /* the sources are read, the destination written; ZMPOP writes its keys */
    cr_assert_eq(setuser("rw", "on nopass +@all %R~r:* %W~w:*", NULL), 0);
    cr_assert_eq(check("rw", "zunionstore w:d 2 r:1 r:2", NULL), ACL_OK);
    cr_assert_eq(check("rw", "zunionstore r:d 1 r:1", &pos), ACL_DENIED_KEY);
    cr_assert_eq(pos, 1);
    cr_assert_eq(check("rw", "zunion 1 r:1", NULL), ACL_OK);
    cr_assert_eq(check("rw", "zunion 1 w:1", NULL), ACL_DENIED_KEY);
    cr_assert_eq(check("rw", "zmpop 1 r:1 MAX", NULL), ACL_DENIED_KEY);
    cr_assert_eq(check("rw", "zmpop 1 w:1 MAX", NULL), ACL_OK);
}

/* Single commands, categories, and first arguments (+config|get). */
Test(acl, commands_categories_and_first_args)
{
    cr_assert_eq(setuser("ops", "on ~* +@all -@dangerous", NULL), 0);
    cr_assert_eq(check("ops", "get k", NULL), ACL_OK);
    cr_assert_eq(check("ops", "flushall", NULL), ACL_DENIED_CMD);
    cr_assert_eq(check("ops", "keys *", NULL), ACL_DENIED_CMD);
    cr_assert_eq(check("ops", "config get maxclients", NULL), ACL_DENIED_CMD);
    cr_assert_eq(setuser("ops", "+config|get", NULL), 0);
    cr_assert_eq(check("ops", "config get maxclients", NULL), ACL_OK);
    cr_assert_eq(check("ops", "config set maxclients 1", NULL), ACL_DENIED_CMD);
    cr_assert(strstr(describe("ops"), "+config|get") != NULL);
    cr_assert_eq(setuser("ops", "-get", NULL), 0);
    cr_assert_eq(check("ops", "get k", NULL), ACL_DENIED_CMD);
    cr_assert_eq(setuser("ops", "nocommands +get", NULL), 0);
    cr_assert_eq(check("ops", "get k", NULL), ACL_OK);
    cr_assert_eq(check("ops", "set k v", NULL), ACL_DENIED_CMD);
    cr_assert_str_eq(describe("ops"), "on sanitize-payload ~* resetchannels -@all +get");
}

/* Categories come from the table: a row's flags and group. */
Test(acl, categories_from_the_table)
{
    unsigned get = acl_command_categories(command_lookup("get", 3));
    cr_assert(get & ACL_CAT_READ);
    cr_assert(get & ACL_CAT_STRING);
    cr_assert(get & ACL_CAT_FAST);
    cr_assert(!(get & ACL_CAT_WRITE));
    unsigned hset = acl_command_categories(command_lookup("hset", 4));
    cr_assert(hset & ACL_CAT_WRITE);
    cr_assert(hset & ACL_CAT_HASH);
    cr_assert(acl_command_categories(command_lookup("del", 3)) & ACL_CAT_KEYSPACE);
    cr_assert(acl_command_categories(command_lookup("flushall", 8)) & ACL_CAT_DANGEROUS);
    cr_assert(acl_command_categories(command_lookup("config", 6)) & ACL_CAT_ADMIN);
    cr_assert(acl_command_categories(command_lookup("multi", 5)) & ACL_CAT_TRANSACTION);
    cr_assert(acl_command_categories(command_lookup("ping", 4)) & ACL_CAT_CONNECTION);
    cr_assert_eq(acl_category_by_name("SortedSet", 9), ACL_CAT_SORTEDSET);
    cr_assert_eq(acl_category_by_name("nope", 4), 0);
    cr_assert_str_eq(acl_category_name(0), "keyspace");
    cr_assert_null(acl_category_name(21));
}

/* The description is minimal: +@all minus a category prints as such. */
Test(acl, description_uses_categories)
{
    cr_assert_eq(setuser("d", "on ~* +@all -@write", NULL), 0);
    cr_assert(strstr(describe("d"), "+@all -@write") != NULL, "%s", describe("d"));
    cr_assert_eq(setuser("e", "on ~* -@all +@hash", NULL), 0);
    cr_assert(strstr(describe("e"), "-@all +@hash") != NULL, "%s", describe("e"));
}

/* Serializing and loading back gives the same users and the same permissions. */
Test(acl, serialize_round_trip)
{
    cr_assert_eq(setuser("x", "on >pw ~a:* %R~b:* &chan:* -@all +@read +set +config|get", NULL), 0);
    cr_assert_eq(setuser("default", "resetpass >dpw -flushall", NULL), 0);
    char xline[1024], dline[1024];
    snprintf(xline, sizeof(xline), "%s", describe("x"));
    snprintf(dline, sizeof(dline), "%s", describe("default"));
    struct buf b;
    buf_init(&b);
    acl_serialize(a, &b);
    struct acl_store *saved = a;
    a = acl_new();
    char err[512];
    cr_assert_eq(acl_load_text(a, b.data, b.len, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(a->n, 2);
    cr_assert_str_eq(describe("x"), xline);
    cr_assert_str_eq(describe("default"), dline);
    cr_assert_eq(acl_authenticate(a, "x", 1, "pw", 2, NULL), 0);
    cr_assert_eq(check("x", "config get x", NULL), ACL_OK);
    cr_assert_eq(check("x", "set a:1 v", NULL), ACL_OK);
    cr_assert_eq(check("x", "set b:1 v", NULL), ACL_DENIED_KEY);
    acl_free(a);
    a = saved;
    buf_close(&b);
}

/* An aclfile with a bad line is refused as a whole, naming the line. */
Test(acl, load_text_is_all_or_nothing)
{
    char err[512];
    const char *text = "user u1 on >p1 ~* +@all\n# comment\n\nuser u2 on +nosuch\n";
    cr_assert_eq(acl_load_text(a, text, strlen(text), err, sizeof(err)), -1);
    cr_assert(strstr(err, ":4: Error in ACL SETUSER modifier '+nosuch'") != NULL, "%s", err);
    cr_assert_eq(a->n, 1);
    const char *dup = "user u1 on\nuser u1 off\n";
    cr_assert_eq(acl_load_text(a, dup, strlen(dup), err, sizeof(err)), -1);
    cr_assert(strstr(err, "Duplicate user 'u1'") != NULL, "%s", err);
    const char *good = "user default on nopass ~* +@all\nuser u1 on >p1 ~k* +get\n";
    cr_assert_eq(acl_load_text(a, good, strlen(good), err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(a->n, 2);
    cr_assert_eq(acl_authenticate(a, "u1", 2, "p1", 2, NULL), 0);
}

/* DELUSER never removes default and counts what it deleted. */
Test(acl, deluser)
{
    cr_assert_eq(setuser("a1", "on", NULL), 0);
    cr_assert_eq(setuser("a2", "on", NULL), 0);
    uint64_t gen = a->gen;
    char *names[] = {"a1", "default", "zz"};
    size_t lens[] = {2, 7, 2};
    cr_assert_eq(acl_deluser(a, 3, names, lens), 1);
    cr_assert_gt(a->gen, gen);
    cr_assert_null(acl_user_find(a, "a1", 2));
    cr_assert_not_null(acl_user_find(a, "default", 7));
    cr_assert_not_null(acl_user_find(a, "a2", 2));
}

/* The peer user's name cannot be taken by an ACL user. */
Test(acl, peer_user_name_is_reserved)
{
    char err[512];
    cr_assert_eq(setuser(ACL_PEER_USER, "on", err), -1);
    cr_assert(!acl_name_ok(ACL_PEER_USER, strlen(ACL_PEER_USER)));
}

/* Similar denials within a minute are grouped; newest first; RESET empties. */
Test(acl, log_groups_similar_entries)
{
    acl_log_add(a, ACL_DENIED_CMD, 0, "set", "u", "id=1", 1000);
    acl_log_add(a, ACL_DENIED_CMD, 0, "set", "u", "id=2", 2000);
    cr_assert_eq(a->nlog, 1);
    cr_assert_eq(a->log[0].count, 2);
    cr_assert_str_eq(a->log[0].cinfo, "id=2");
    acl_log_add(a, ACL_DENIED_KEY, 0, "k", "u", "id=3", 3000);
    cr_assert_eq(a->nlog, 2);
    cr_assert_str_eq(a->log[0].object, "k");
    acl_log_add(a, ACL_DENIED_CMD, 0, "set", "u", "id=4", 200000);
    cr_assert_eq(a->nlog, 3, "past a minute a new entry starts");
    for (int i = 0; i < ACL_LOG_MAX + 5; i++) {
        char obj[16];
        snprintf(obj, sizeof(obj), "o%d", i);
        acl_log_add(a, ACL_DENIED_CMD, 0, obj, "u", "c", 300000);
    }
    cr_assert_eq(a->nlog, ACL_LOG_MAX);
    acl_log_reset(a);
    cr_assert_eq(a->nlog, 0);
}
