/* The command table and the lookups dispatch needs. The table is the single description of
 * every command: dispatch, COMMAND and INFO commandstats read it. */
#include "command.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "util.h"

#define W CMD_WRITE
#define R CMD_READONLY
#define F CMD_FAST
#define M CMD_DENYOOM
#define L CMD_LOCAL
#define B CMD_BLOCKING
#define KN2 (CMD_KEYNUM | CMD_KEYNUM_AT2)

/* Rows leave the statistics fields out: they start at zero. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
static struct command command_rows[] = {
    /* name        handler          prepare           arity flags           keys      group     summary */
    {"get",        cmd_get,         NULL,             2,  R | F,            1, 1, 1,  "string", "Get the value of a key"},
    {"set",        cmd_set,         prep_set,         -3, W | M,            1, 1, 1,  "string", "Set the string value of a key"},
    {"setnx",      cmd_setnx,       NULL,             3,  W | M | F,        1, 1, 1,  "string", "Set the value of a key, only if the key does not exist"},
    {"setex",      cmd_set,         prep_setex,       4,  W | M,            1, 1, 1,  "string", "Set the value and expiration of a key"},
    {"psetex",     cmd_set,         prep_psetex,      4,  W | M,            1, 1, 1,  "string", "Set the value and expiration in milliseconds of a key"},
    {"getset",     cmd_getset,      NULL,             3,  W | M | F,        1, 1, 1,  "string", "Set the string value of a key and return its old value"},
    {"getdel",     cmd_getdel,      NULL,             2,  W | F,            1, 1, 1,  "string", "Get the value of a key and delete the key"},
    {"getex",      cmd_getex,       prep_getex,       -2, W | F,            1, 1, 1,  "string", "Get the value of a key and optionally set its expiration"},
    {"mget",       cmd_mget,        NULL,             -2, R | F,            1, -1, 1, "string", "Get the values of all the given keys"},
    {"mset",       cmd_mset,        prep_mset,        -3, W | M,            1, -1, 2, "string", "Set multiple keys to multiple values"},
    {"msetnx",     cmd_msetnx,      prep_mset,        -3, W | M,            1, -1, 2, "string", "Set multiple keys to multiple values, only if none of the keys exist"},
    {"append",     cmd_append,      NULL,             3,  W | M | F,        1, 1, 1,  "string", "Append a value to a key"},
    {"strlen",     cmd_strlen,      NULL,             2,  R | F,            1, 1, 1,  "string", "Get the length of the value stored in a key"},
    {"incr",       cmd_incr,        NULL,             2,  W | M | F,        1, 1, 1,  "string", "Increment the integer value of a key by one"},
    {"decr",       cmd_decr,        NULL,             2,  W | M | F,        1, 1, 1,  "string", "Decrement the integer value of a key by one"},
    {"incrby",     cmd_incrby,      prep_incrby,      3,  W | M | F,        1, 1, 1,  "string", "Increment the integer value of a key by the given amount"},
    {"decrby",     cmd_decrby,      prep_incrby,      3,  W | M | F,        1, 1, 1,  "string", "Decrement the integer value of a key by the given number"},
    {"incrbyfloat", cmd_incrbyfloat, prep_incrbyfloat, 3, W | M | F,        1, 1, 1,  "string", "Increment the float value of a key by the given amount"},
    {"getrange",   cmd_getrange,    NULL,             4,  R,                1, 1, 1,  "string", "Get a substring of the string stored at a key"},
    {"setrange",   cmd_setrange,    prep_setrange,    4,  W | M,            1, 1, 1,  "string", "Overwrite part of a string at key starting at the specified offset"},

    {"del",        cmd_del,         NULL,             -2, W,                1, -1, 1, "generic", "Delete a key"},
    {"unlink",     cmd_del,         NULL,             -2, W | F,            1, -1, 1, "generic", "Delete a key asynchronously in another thread"},
    {"exists",     cmd_exists,      NULL,             -2, R | F,            1, -1, 1, "generic", "Determine if a key exists"},
    {"type",       cmd_type,        NULL,             2,  R | F,            1, 1, 1,  "generic", "Determine the type stored at key"},
    {"keys",       cmd_keys,        NULL,             2,  R,                0, 0, 0,  "generic", "Find all keys matching the given pattern"},
    {"scan",       cmd_scan,        NULL,             -2, R,                0, 0, 0,  "generic", "Incrementally iterate the keys space"},
    {"rename",     cmd_rename,      NULL,             3,  W,                1, 2, 1,  "generic", "Rename a key"},
    {"renamenx",   cmd_renamenx,    NULL,             3,  W | F,            1, 2, 1,  "generic", "Rename a key, only if the new key does not exist"},
    {"randomkey",  cmd_randomkey,   NULL,             1,  R,                0, 0, 0,  "generic", "Return a random key from the keyspace"},
    {"copy",       cmd_copy,        prep_copy,        -3, W | M,            1, 2, 1,  "generic", "Copy a key"},
    {"expire",     cmd_pexpireat,   prep_expire,      -3, W | F,            1, 1, 1,  "generic", "Set a key's time to live in seconds"},
    {"pexpire",    cmd_pexpireat,   prep_pexpire,     -3, W | F,            1, 1, 1,  "generic", "Set a key's time to live in milliseconds"},
    {"expireat",   cmd_pexpireat,   prep_expireat,    -3, W | F,            1, 1, 1,  "generic", "Set the expiration for a key as a UNIX timestamp"},
    {"pexpireat",  cmd_pexpireat,   prep_pexpireat,   -3, W | F,            1, 1, 1,  "generic", "Set the expiration for a key as a UNIX timestamp specified in milliseconds"},
    {"ttl",        cmd_ttl,         NULL,             2,  R | F,            1, 1, 1,  "generic", "Get the time to live for a key in seconds"},
    {"pttl",       cmd_pttl,        NULL,             2,  R | F,            1, 1, 1,  "generic", "Get the time to live for a key in milliseconds"},
    {"expiretime", cmd_expiretime,  NULL,             2,  R | F,            1, 1, 1,  "generic", "Get the expiration Unix timestamp for a key"},
    {"pexpiretime", cmd_pexpiretime, NULL,            2,  R | F,            1, 1, 1,  "generic", "Get the expiration Unix timestamp for a key in milliseconds"},
    {"persist",    cmd_persist,     NULL,             2,  W | F,            1, 1, 1,  "generic", "Remove the expiration from a key"},
    {"dbsize",     cmd_dbsize,      NULL,             1,  R | F,            0, 0, 0,  "server", "Return the number of keys in the selected database"},
    {"flushdb",    cmd_flushdb,     prep_flushall,    -1, W,                0, 0, 0,  "server", "Remove all keys from the current database"},
    {"move",       cmd_move,        NULL,             3,  W | F,            1, 1, 1,  "generic", "Move a key to another database"},
    {"swapdb",     cmd_swapdb,      NULL,             3,  W | F,            0, 0, 0,  "server", "Swaps two Redis databases"},
    {"flushall",   cmd_flushall,    prep_flushall,    -1, W,                0, 0, 0,  "server", "Remove all keys from all databases"},
    {"__evicted",  cmd_evicted,     NULL,             -2, W | CMD_INTERNAL, 1, -1, 1, "generic", "Delete the given keys (eviction past maxmemory, victims chosen by the leader)"},
    {"__expired",  cmd_expired,     NULL,             -2, W | CMD_INTERNAL, 1, -1, 1, "generic", "Delete the given keys if they have expired (active expiry)"},
    {"__txn",      cmd_txn,         NULL,             -3, W | CMD_INTERNAL, 0, 0, 0,  "transactions", "A MULTI/EXEC transaction as one unit (internal)"},

    {"hset",       cmd_hset,        prep_hset,        -4, W | M | F,        1, 1, 1,  "hash",   "Set the string value of a hash field"},
    {"hsetnx",     cmd_hsetnx,      prep_hsetnx,      -4, W | M | F,        1, 1, 1,  "hash",   "Set the value of a hash field, only if the field does not exist"},
    {"hmset",      cmd_hmset,       prep_hset,        -4, W | M | F,        1, 1, 1,  "hash",   "Set multiple hash fields to multiple values"},
    {"hget",       cmd_hget,        NULL,             3,  R | F,            1, 1, 1,  "hash",   "Get the value of a hash field"},
    {"hmget",      cmd_hmget,       NULL,             -3, R | F,            1, 1, 1,  "hash",   "Get the values of all the given hash fields"},
    {"hgetall",    cmd_hgetall,     NULL,             2,  R,                1, 1, 1,  "hash",   "Get all the fields and values in a hash"},
    {"hkeys",      cmd_hkeys,       NULL,             2,  R,                1, 1, 1,  "hash",   "Get all the fields in a hash"},
    {"hvals",      cmd_hvals,       NULL,             2,  R,                1, 1, 1,  "hash",   "Get all the values in a hash"},
    {"hlen",       cmd_hlen,        NULL,             2,  R | F,            1, 1, 1,  "hash",   "Get the number of fields in a hash"},
    {"hstrlen",    cmd_hstrlen,     NULL,             3,  R | F,            1, 1, 1,  "hash",   "Get the length of the value of a hash field"},
    {"hexists",    cmd_hexists,     NULL,             3,  R | F,            1, 1, 1,  "hash",   "Determine if a hash field exists"},
    {"hdel",       cmd_hdel,        NULL,             -3, W | F,            1, 1, 1,  "hash",   "Delete one or more hash fields"},
    {"hincrby",    cmd_hincrby,     prep_hincrby,     -4, W | M | F,        1, 1, 1,  "hash",   "Increment the integer value of a hash field by the given number"},
    {"hincrbyfloat", cmd_hincrbyfloat, prep_hincrbyfloat, -4, W | M | F,    1, 1, 1,  "hash",   "Increment the float value of a hash field by the given amount"},
    {"hrandfield", cmd_hrandfield,  NULL,             -2, R,                1, 1, 1,  "hash",   "Get one or multiple random fields from a hash"},
    {"hscan",      cmd_hscan,       NULL,             -3, R,                1, 1, 1,  "hash",   "Incrementally iterate hash fields and associated values"},
    {"sadd",       cmd_sadd,        prep_set_add,     -3, W | M | F,        1, 1, 1,  "set",    "Add one or more members to a set"},
    {"srem",       cmd_srem,        NULL,             -3, W | F,            1, 1, 1,  "set",    "Remove one or more members from a set"},
    {"smove",      cmd_smove,       prep_smove,       -4, W | F,            1, 2, 1,  "set",    "Move a member from one set to another"},
    {"spop",       cmd_spop,        NULL,             -2, W | F,            1, 1, 1,  "set",    "Remove and return one or multiple random members from a set"},
    {"scard",      cmd_scard,       NULL,             2,  R | F,            1, 1, 1,  "set",    "Get the number of members in a set"},
    {"sismember",  cmd_sismember,   NULL,             3,  R | F,            1, 1, 1,  "set",    "Determine if a given value is a member of a set"},
    {"smismember", cmd_smismember,  NULL,             -3, R | F,            1, 1, 1,  "set",    "Returns the membership associated with the given elements for a set"},
    {"smembers",   cmd_smembers,    NULL,             2,  R,                1, 1, 1,  "set",    "Get all the members in a set"},
    {"srandmember", cmd_srandmember, NULL,            -2, R,                1, 1, 1,  "set",    "Get one or multiple random members from a set"},
    {"sinter",     cmd_sinter,      NULL,             -2, R,                1, -1, 1, "set",    "Intersect multiple sets"},
    {"sintercard", cmd_sintercard,  NULL,             -3, R | CMD_KEYNUM,   0, 0, 0,  "set",    "Intersect multiple sets and return the cardinality of the result"},
    {"sinterstore", cmd_sinterstore, prep_set_add,    -3, W | M,            1, -1, 1, "set",    "Intersect multiple sets and store the resulting set in a key"},
    {"sunion",     cmd_sunion,      NULL,             -2, R,                1, -1, 1, "set",    "Add multiple sets"},
    {"sunionstore", cmd_sunionstore, prep_set_add,    -3, W | M,            1, -1, 1, "set",    "Add multiple sets and store the resulting set in a key"},
    {"sdiff",      cmd_sdiff,       NULL,             -2, R,                1, -1, 1, "set",    "Subtract multiple sets"},
    {"sdiffstore", cmd_sdiffstore,  prep_set_add,     -3, W | M,            1, -1, 1, "set",    "Subtract multiple sets and store the resulting set in a key"},
    {"sscan",      cmd_sscan,       NULL,             -3, R,                1, 1, 1,  "set",    "Incrementally iterate Set elements"},
    {"sort",       cmd_sort,        prep_list_push,   -2, W | M,            1, 1, 1,  "generic", "Sort the elements in a list, set or sorted set, return or store the result (a write: STORE)"},
    {"sort_ro",    cmd_sort_ro,     NULL,             -2, R,                1, 1, 1,  "generic", "Sort the elements in a list, set or sorted set. Read-only variant of SORT."},

    {"lpush",      cmd_lpush,       prep_list_push,   -3, W | M | F,        1, 1, 1,  "list",   "Prepend one or multiple elements to a list"},
    {"rpush",      cmd_rpush,       prep_list_push,   -3, W | M | F,        1, 1, 1,  "list",   "Append one or multiple elements to a list"},
    {"lpushx",     cmd_lpushx,      prep_list_push,   -3, W | M | F,        1, 1, 1,  "list",   "Prepend an element to a list, only if the list exists"},
    {"rpushx",     cmd_rpushx,      prep_list_push,   -3, W | M | F,        1, 1, 1,  "list",   "Append an element to a list, only if the list exists"},
    {"lpop",       cmd_lpop,        NULL,             -2, W | F,            1, 1, 1,  "list",   "Remove and get the first elements in a list"},
    {"rpop",       cmd_rpop,        NULL,             -2, W | F,            1, 1, 1,  "list",   "Remove and get the last elements in a list"},
    {"lmpop",      cmd_lmpop,       NULL,             -4, W | CMD_KEYNUM,   0, 0, 0,  "list",   "Pop elements from a list"},
    {"lmove",      cmd_lmove,       prep_lmove,       -5, W | M,            1, 2, 1,  "list",   "Pop an element from a list, push it to another list and return it"},
    {"rpoplpush",  cmd_rpoplpush,   prep_rpoplpush,   -3, W | M,            1, 2, 1,  "list",   "Remove the last element in a list, prepend it to another list and return it"},
    {"blpop",      cmd_blpop,       prep_blpop,       -3, W | B,            1, -2, 1, "list",   "Remove and get the first element in a list, or block until one is available"},
    {"brpop",      cmd_brpop,       prep_blpop,       -3, W | B,            1, -2, 1, "list",   "Remove and get the last element in a list, or block until one is available"},
    {"blmpop",     cmd_blmpop,      prep_blmpop,      -5, W | B | KN2,      0, 0, 0,  "list",   "Pop elements from a list, or block until one is available"},
    {"blmove",     cmd_blmove,      prep_blmove,      -6, W | M | B,        1, 2, 1,  "list",   "Pop an element from a list, push it to another list and return it; or block until one is available"},
    {"brpoplpush", cmd_brpoplpush,  prep_brpoplpush,  -4, W | M | B,        1, 2, 1,  "list",   "Pop an element from a list, push it to another list and return it; or block until one is available"},
    {"llen",       cmd_llen,        NULL,             2,  R | F,            1, 1, 1,  "list",   "Get the length of a list"},
    {"lrange",     cmd_lrange,      NULL,             4,  R,                1, 1, 1,  "list",   "Get a range of elements from a list"},
    {"lindex",     cmd_lindex,      NULL,             3,  R,                1, 1, 1,  "list",   "Get an element from a list by its index"},
    {"lpos",       cmd_lpos,        NULL,             -3, R,                1, 1, 1,  "list",   "Return the index of matching elements on a list"},
    {"lset",       cmd_lset,        NULL,             4,  W | M,            1, 1, 1,  "list",   "Set the value of an element in a list by its index"},
    {"linsert",    cmd_linsert,     prep_linsert,     -5, W | M,            1, 1, 1,  "list",   "Insert an element before or after another element in a list"},
    {"lrem",       cmd_lrem,        NULL,             4,  W,                1, 1, 1,  "list",   "Remove elements from a list"},
    {"ltrim",      cmd_ltrim,       NULL,             4,  W,                1, 1, 1,  "list",   "Trim a list to the specified range"},

    {"zadd", cmd_zadd, prep_zadd, -4, W | M | F, 1, 1, 1, "sortedset", "Add one or more members to a sorted set, or update its score if it already exists"},
    {"zincrby", cmd_zincrby, prep_zincrby, -4, W | M | F, 1, 1, 1, "sortedset", "Increment the score of a member in a sorted set"},
    {"zrem", cmd_zrem, NULL, -3, W | F, 1, 1, 1, "sortedset", "Remove one or more members from a sorted set"},
    {"zcard", cmd_zcard, NULL, 2, R | F, 1, 1, 1, "sortedset", "Get the number of members in a sorted set"},
    {"zscore", cmd_zscore, NULL, 3, R | F, 1, 1, 1, "sortedset", "Get the score associated with the given member in a sorted set"},
    {"zmscore", cmd_zmscore, NULL, -3, R | F, 1, 1, 1, "sortedset", "Get the score associated with the given members in a sorted set"},
    {"zrank", cmd_zrank, NULL, 3, R | F, 1, 1, 1, "sortedset", "Determine the index of a member in a sorted set"},
    {"zrevrank", cmd_zrevrank, NULL, 3, R | F, 1, 1, 1, "sortedset", "Determine the index of a member in a sorted set, with scores ordered from high to low"},
    {"zcount", cmd_zcount, NULL, 4, R | F, 1, 1, 1, "sortedset", "Count the members in a sorted set with scores within the given values"},
    {"zlexcount", cmd_zlexcount, NULL, 4, R | F, 1, 1, 1, "sortedset", "Count the number of members in a sorted set between a given lexicographical range"},
    {"zrange", cmd_zrange, NULL, -4, R, 1, 1, 1, "sortedset", "Return a range of members in a sorted set"},
    {"zrangestore", cmd_zrangestore, prep_zrangestore, -5, W | M, 1, 2, 1, "sortedset", "Store a range of members from sorted set into another key"},
    {"zrevrange", cmd_zrevrange, NULL, -4, R, 1, 1, 1, "sortedset", "Return a range of members in a sorted set, by index, with scores ordered from high to low"},
    {"zrangebyscore", cmd_zrangebyscore, NULL, -4, R, 1, 1, 1, "sortedset", "Return a range of members in a sorted set, by score"},
    {"zrevrangebyscore", cmd_zrevrangebyscore, NULL, -4, R, 1, 1, 1, "sortedset", "Return a range of members in a sorted set, by score, with scores ordered from high to low"},
    {"zrangebylex", cmd_zrangebylex, NULL, -4, R, 1, 1, 1, "sortedset", "Return a range of members in a sorted set, by lexicographical range"},
    {"zrevrangebylex", cmd_zrevrangebylex, NULL, -4, R, 1, 1, 1, "sortedset", "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings"},
    {"zremrangebyrank", cmd_zremrangebyrank, NULL, 4, W, 1, 1, 1, "sortedset", "Remove all members in a sorted set within the given indexes"},
    {"zremrangebyscore", cmd_zremrangebyscore, NULL, 4, W, 1, 1, 1, "sortedset", "Remove all members in a sorted set within the given scores"},
    {"zremrangebylex", cmd_zremrangebylex, NULL, 4, W, 1, 1, 1, "sortedset", "Remove all members in a sorted set between the given lexicographical range"},
    {"zpopmin", cmd_zpopmin, NULL, -2, W | F, 1, 1, 1, "sortedset", "Remove and return members with the lowest scores in a sorted set"},
    {"zpopmax", cmd_zpopmax, NULL, -2, W | F, 1, 1, 1, "sortedset", "Remove and return members with the highest scores in a sorted set"},
    {"zmpop", cmd_zmpop, NULL, -4, W | CMD_KEYNUM, 0, 0, 0, "sortedset", "Remove and return members with scores in a sorted set"},
    {"bzpopmin", cmd_bzpopmin, prep_bzpop, -3, W | F | B, 1, -2, 1, "sortedset", "Remove and return the member with the lowest score from one of the sorted sets, or block until one is available"},
    {"bzpopmax", cmd_bzpopmax, prep_bzpop, -3, W | F | B, 1, -2, 1, "sortedset", "Remove and return the member with the highest score from one of the sorted sets, or block until one is available"},
    {"bzmpop", cmd_bzmpop, prep_bzmpop, -5, W | B | KN2, 0, 0, 0, "sortedset", "Remove and return members with scores in a sorted set or block until one is available"},
    {"zunion", cmd_zunion, NULL, -3, R | CMD_KEYNUM, 0, 0, 0, "sortedset", "Add multiple sorted sets"},
    {"zunionstore", cmd_zunionstore, prep_zstore, -4, W | M | CMD_KEYNUM, 1, 1, 1, "sortedset", "Add multiple sorted sets and store the resulting sorted set in a new key"},
    {"zinter", cmd_zinter, NULL, -3, R | CMD_KEYNUM, 0, 0, 0, "sortedset", "Intersect multiple sorted sets"},
    {"zinterstore", cmd_zinterstore, prep_zstore, -4, W | M | CMD_KEYNUM, 1, 1, 1, "sortedset", "Intersect multiple sorted sets and store the resulting sorted set in a new key"},
    {"zintercard", cmd_zintercard, NULL, -3, R | CMD_KEYNUM, 0, 0, 0, "sortedset", "Intersect multiple sorted sets and return the cardinality of the result"},
    {"zdiff", cmd_zdiff, NULL, -3, R | CMD_KEYNUM, 0, 0, 0, "sortedset", "Subtract multiple sorted sets"},
    {"zdiffstore", cmd_zdiffstore, prep_zstore, -4, W | M | CMD_KEYNUM, 1, 1, 1, "sortedset", "Subtract multiple sorted sets and store the resulting sorted set in a new key"},
    {"zrandmember", cmd_zrandmember, NULL, -2, R, 1, 1, 1, "sortedset", "Get one or multiple random elements from a sorted set"},
    {"zscan", cmd_zscan, NULL, -3, R, 1, 1, 1, "sortedset", "Incrementally iterate sorted sets elements and associated scores"},
    {"object",     cmd_object,      NULL,             -2, R,                2, 2, 1,  "generic", "A container for object introspection commands"},
    {"memory",     cmd_memory,      NULL,             -2, R,                2, 2, 1,  "server", "A container for memory diagnostics commands"},

    {"ping",       cmd_ping,        NULL,             -1, L | F,            0, 0, 0,  "connection", "Ping the server"},
    {"echo",       cmd_echo,        NULL,             2,  L | F,            0, 0, 0,  "connection", "Echo the given string"},
    {"quit",       cmd_quit,        NULL,             -1, L | F | CMD_NOAUTH | CMD_TX, 0, 0, 0, "connection", "Close the connection"},
    {"hello",      cmd_hello,       NULL,             -1, L | F | CMD_NOAUTH, 0, 0, 0, "connection", "Handshake with Redis"},
    {"auth",       cmd_auth,        NULL,             -2, L | F | CMD_NOAUTH, 0, 0, 0, "connection", "Authenticate to the server"},
    {"select",     cmd_select,      NULL,             2,  L | F,            0, 0, 0,  "connection", "Change the selected database for the current connection"},
    {"client",     cmd_client,      NULL,             -2, L,                0, 0, 0,  "connection", "A container for client connection commands"},
    {"command",    cmd_command,     NULL,             -1, L,                0, 0, 0,  "server", "Get array of Redis command details"},
    {"info",       cmd_info,        NULL,             -1, L,                0, 0, 0,  "server", "Get information and statistics about the server"},
    {"time",       cmd_time,        NULL,             1,  L | F,            0, 0, 0,  "server", "Return the current server time"},
    {"lastsave",   cmd_lastsave,    NULL,             1,  L | F,            0, 0, 0,  "server", "Get the UNIX time stamp of the last successful save to disk"},
    {"touch",      cmd_touch,       NULL,             -2, R | F,            1, -1, 1, "generic", "Alters the last access time of a key(s). Returns the number of existing keys specified"},
    {"role",       cmd_role,        NULL,             1,  L | F,            0, 0, 0,  "server", "Return the role of the instance in the context of replication"},
    {"wait",       cmd_wait,        NULL,             3,  L | CMD_ORDERED | CMD_NOMULTI, 0, 0, 0, "generic", "Wait for the synchronous replication of all the write commands sent in the context of the current connection"},
    {"config",     cmd_config,      NULL,             -2, L | CMD_ADMIN,    0, 0, 0,  "server", "A container for server configuration commands"},
    {"debug",      cmd_debug,       NULL,             -2, L | CMD_ADMIN | CMD_ORDERED | CMD_NOMULTI, 0, 0, 0,  "server", "A container for debugging commands (DEBUG DIGEST: this node's applied state)"},
    {"cluster",    cmd_cluster,     NULL,             -2, L,                0, 0, 0,  "cluster", "A container for cluster commands"},
    {"sentinel",   cmd_sentinel,    NULL,             -2, L | CMD_ADMIN,    0, 0, 0,  "sentinel", "A container for Sentinel commands (the raft leader as the master of cluster-name)"},
    {"readonly",   cmd_readonly,    NULL,             1,  L | F,            0, 0, 0,  "cluster", "Enables read queries for a connection to a cluster replica node"},
    {"readwrite",  cmd_readwrite,   NULL,             1,  L | F,            0, 0, 0,  "cluster", "Disables read queries for a connection to a cluster replica node"},
    {"asking",     cmd_asking,      NULL,             1,  L | F,            0, 0, 0,  "cluster", "Sent by cluster clients after an -ASK redirect"},

    {"multi",      cmd_multi,       NULL,             1,  L | F | CMD_TX,   0, 0, 0,  "transactions", "Mark the start of a transaction block"},
    {"exec",       cmd_exec,        NULL,             1,  L | CMD_TX,       0, 0, 0,  "transactions", "Execute all commands issued after MULTI"},
    {"discard",    cmd_discard,     NULL,             1,  L | F | CMD_TX,   0, 0, 0,  "transactions", "Discard all commands issued after MULTI"},
    {"watch",      cmd_watch,       NULL,             -2, L | F | CMD_TX | CMD_ORDERED, 1, -1, 1, "transactions", "Watch the given keys to determine execution of the MULTI/EXEC block"},
    {"unwatch",    cmd_unwatch,     NULL,             1,  L | F | CMD_TX,   0, 0, 0,  "transactions", "Forget about all watched keys"},

    {"subscribe",  cmd_subscribe,   NULL,             -2, L | CMD_NOMULTI,  0, 0, 0,  "pubsub", "Listen for messages published to the given channels"},
    {"unsubscribe", cmd_unsubscribe, NULL,            -1, L | CMD_NOMULTI,  0, 0, 0,  "pubsub", "Stop listening for messages posted to the given channels"},
    {"psubscribe", cmd_psubscribe,  NULL,             -2, L | CMD_NOMULTI,  0, 0, 0,  "pubsub", "Listen for messages published to channels matching the given patterns"},
    {"punsubscribe", cmd_punsubscribe, NULL,          -1, L | CMD_NOMULTI,  0, 0, 0,  "pubsub", "Stop listening for messages posted to channels matching the given patterns"},
    {"ssubscribe", cmd_ssubscribe,  NULL,             -2, L | CMD_NOMULTI,  1, -1, 1, "pubsub", "Listen for messages published to the given shard channels"},
    {"sunsubscribe", cmd_sunsubscribe, NULL,          -1, L | CMD_NOMULTI,  1, -1, 1, "pubsub", "Stop listening for messages posted to the given shard channels"},
    {"publish",    cmd_publish,     NULL,             3,  W | F,            0, 0, 0,  "pubsub", "Post a message to a channel (one log entry; every node delivers it to its own subscribers)"},
    {"spublish",   cmd_spublish,    NULL,             3,  W | F,            1, 1, 1,  "pubsub", "Post a message to a shard channel"},
    {"pubsub",     cmd_pubsub,      NULL,             -2, L,                0, 0, 0,  "pubsub", "A container for Pub/Sub commands (this node's subscriptions)"},
    {"reset",      cmd_reset,       NULL,             1,  L | F | CMD_NOAUTH | CMD_TX, 0, 0, 0, "connection", "Reset the connection"},
    {"eval",       cmd_eval,        prep_eval,        -3, W | KN2,          0, 0, 0,  "scripting", "Execute a Lua script server side"},
    {"evalsha",    cmd_eval,        prep_eval,        -3, W | KN2,          0, 0, 0,  "scripting", "Execute a Lua script server side"},
    {"eval_ro",    cmd_eval_ro,     NULL,             -3, R | KN2,          0, 0, 0,  "scripting", "Execute a read-only Lua script server side"},
    {"evalsha_ro", cmd_eval_ro,     NULL,             -3, R | KN2,          0, 0, 0,  "scripting", "Execute a read-only Lua script server side"},
    {"script",     cmd_script,      NULL,             -2, L | CMD_NOMULTI | CMD_ORDERED, 0, 0, 0, "scripting", "A container for Lua scripts management commands"},
    {"__script",   cmd_script_apply, NULL,            -2, W | CMD_INTERNAL, 0, 0, 0,  "scripting", "SCRIPT LOAD/FLUSH as applied (internal)"},

    {"acl",        cmd_acl,         NULL,             -2, L | CMD_NOMULTI,  0, 0, 0,  "server", "A container for Access List Control commands"},
    {"__acl",      cmd_acl_apply,   NULL,             -2, W | CMD_INTERNAL, 0, 0, 0,  "server", "ACL SETUSER/DELUSER/LOAD and the aclfile seed as applied (internal)"},

    {"monitor",    cmd_monitor,     NULL,             1,  L | CMD_ADMIN,    0, 0, 0,  "server", "Listen for all requests received by the server in real time (this node's)"},
    {"slowlog",    cmd_slowlog,     NULL,             -2, L | CMD_ADMIN,    0, 0, 0,  "server", "A container for slow log commands (this node's)"},
    {"latency",    cmd_latency,     NULL,             -2, L | CMD_ADMIN,    0, 0, 0,  "server", "A container for latency diagnostics commands (this node's)"},
};
#pragma GCC diagnostic pop

#undef W
#undef R
#undef F
#undef M
#undef L

#define COMMAND_SLOTS 512 /* power of two, > 2 x rows */
static struct command *command_slots[COMMAND_SLOTS];

/* ASCII lower case: command names are ASCII, and this is on every command's path. */
static inline unsigned char ascii_lower(unsigned char ch)
{
    return ch >= 'A' && ch <= 'Z' ? (unsigned char)(ch + ('a' - 'A')) : ch;
}

static unsigned name_hash(const char *name, size_t len)
{
    unsigned h = 5381;
    for (size_t i = 0; i < len; i++)
        h = h * 33 + ascii_lower((unsigned char)name[i]);
    return h & (COMMAND_SLOTS - 1);
}

/* NAME (LEN bytes, any case) is ROW's name (lower case, LEN bytes). */
static int name_is(const char *row, const char *name, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (ascii_lower((unsigned char)name[i]) != (unsigned char)row[i])
            return 0;
    return 1;
}

void command_init(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    for (size_t i = 0; i < sizeof(command_rows) / sizeof(command_rows[0]); i++) {
        struct command *c = &command_rows[i];
        c->noop = (c->flags & CMD_WRITE) && !(c->flags & CMD_BLOCKING) ? command_noop_for(c->name) : NULL;
        c->name_len = strlen(c->name);
        unsigned h = name_hash(c->name, c->name_len);
        while (command_slots[h] != NULL)
            h = (h + 1) & (COMMAND_SLOTS - 1);
        command_slots[h] = c;
    }
}

struct command *command_lookup(const char *name, size_t len)
{
    command_init();
    for (unsigned h = name_hash(name, len); command_slots[h] != NULL;
         h = (h + 1) & (COMMAND_SLOTS - 1)) {
        struct command *c = command_slots[h];
        if (c->name_len == len && name_is(c->name, name, len))
            return c;
    }
    return NULL;
}

struct command *command_table(size_t *n)
{
    *n = sizeof(command_rows) / sizeof(command_rows[0]);
    return command_rows;
}

int command_check_arity(const struct command *cmd, const struct request *req, struct buf *out)
{
    if ((cmd->arity > 0 && req->argc != cmd->arity) || (req->argc < -cmd->arity)) {
        reply_wrong_arity(out, cmd->name);
        return -1;
    }
    return 0;
}

static void keys_push(struct command_keys *ks, int pos, int write)
{
    if (ks->n >= COMMAND_KEYS_INLINE && (ks->n & (ks->n - 1)) == 0) { /* full: double */
        struct command_key *v = xmalloc(sizeof *v * (size_t)ks->n * 2);
        memcpy(v, ks->v, sizeof *v * (size_t)ks->n);
        if (ks->v != ks->inline_v)
            free(ks->v);
        ks->v = v;
    }
    ks->v[ks->n++] = (struct command_key){pos, write};
}

int command_get_keys(const struct command *cmd, const struct request *req,
                     struct command_keys *ks)
{
    int write = (cmd->flags & CMD_WRITE) != 0;
    int nk = (cmd->flags & CMD_KEYNUM_AT2) ? 2 : 1; /* the numkeys argument, for CMD_KEYNUM */

    ks->n = 0;
    ks->v = ks->inline_v;
    if (cmd->first_key > 0) {
        int last = cmd->last_key < 0 ? req->argc + cmd->last_key : cmd->last_key;
        int step = cmd->key_step > 0 ? cmd->key_step : 1;
        for (int k = cmd->first_key; k <= last && k < req->argc; k += step)
            keys_push(ks, k, write);
        nk = last + 1;
    }
    if ((cmd->flags & CMD_KEYNUM) && nk < req->argc) {
        long long n;
        if (util_parse_ll(req->argv[nk], req->len[nk], &n) == 0 && n >= 1) {
            int sources_read = cmd->first_key > 0;
            for (int k = nk + 1; k < req->argc && n-- > 0; k++)
                keys_push(ks, k, write && !sources_read);
        }
    }
    return ks->n;
}

void command_keys_close(struct command_keys *ks)
{
    if (ks->v != ks->inline_v)
        free(ks->v);
    ks->v = ks->inline_v;
    ks->n = 0;
}

int command_first_key(const struct command *cmd, const struct request *req)
{
    struct command_keys ks;
    int k = command_get_keys(cmd, req, &ks) > 0 ? ks.v[0].pos : -1;
    command_keys_close(&ks);
    return k;
}

int command_allowed_in_multi(const struct command *cmd, const struct request *req)
{
    if (cmd->flags & CMD_NOMULTI)
        return 0;
    if (cmd->proc == cmd_cluster)
        return cmd_cluster_is_read(req);
    return 1;
}

void reply_wrongtype(struct buf *out)
{
    reply_error(out, "WRONGTYPE Operation against a key holding the wrong kind of value");
}

int command_obj_at(struct exec_ctx *ctx, const struct request *req, int i, int write, int type,
                   void **obj)
{
    struct kv_entry *e = write ? kv_lookup_write(ctx->kv, req->argv[i], req->len[i], ctx->now_ms,
                                                 ctx->apply_seq)
                               : kv_lookup(ctx->kv, req->argv[i], req->len[i], ctx->now_ms);
    *obj = NULL;
    if (e == NULL)
        return 0;
    if ((int)e->type != type) {
        reply_wrongtype(ctx->out);
        return -1;
    }
    *obj = kv_entry_obj(e);
    return 0;
}

struct kv_store *command_db(const struct exec_ctx *ctx, long long i)
{
    if (ctx->dbs == NULL)
        return i == 0 ? ctx->kv : NULL;
    return i >= 0 && i < ctx->ndbs ? ctx->dbs[i] : NULL;
}

int command_ndbs(const struct exec_ctx *ctx)
{
    return ctx->dbs == NULL ? 1 : ctx->ndbs;
}

int command_arg_ll(const struct request *req, int i, long long *v, struct buf *out)
{
    if (util_parse_ll(req->argv[i], req->len[i], v) != 0) {
        reply_not_integer(out);
        return -1;
    }
    return 0;
}

int command_parse_scan(const struct request *req, int first, int with_type, struct scan_args *a,
                       struct buf *out)
{
    char *end;

    *a = (struct scan_args){.count = 10, .type_arg = -1};
    errno = 0;
    a->cursor = strtoull(req->argv[first], &end, 10);
    if (isspace((unsigned char)req->argv[first][0]) || *end != '\0' || errno == ERANGE) {
        reply_error(out, "ERR invalid cursor");
        return -1;
    }
    for (int i = first + 1; i < req->argc; i += 2) {
        if (i + 1 >= req->argc) {
            reply_syntax_error(out);
            return -1;
        }
        if (request_arg_is(req, i, "count")) {
            if (command_arg_ll(req, i + 1, &a->count, out) != 0)
                return -1;
            if (a->count < 1) {
                reply_syntax_error(out);
                return -1;
            }
        } else if (request_arg_is(req, i, "match")) {
            a->pat = req->argv[i + 1];
            a->plen = req->len[i + 1];
            if (a->plen == 1 && a->pat[0] == '*')
                a->pat = NULL;
        } else if (with_type && request_arg_is(req, i, "type")) {
            a->type_arg = i + 1;
        } else {
            reply_syntax_error(out);
            return -1;
        }
    }
    return 0;
}

void command_reply_subcommand_rest(struct buf *out, const struct request *req, const char *cmd,
                                   const char *const *help, const char *const *known)
{
    char lower[32];
    size_t i;
    if (help != NULL && request_arg_is(req, 1, "help")) {
        int n = 0;
        while (help[n] != NULL)
            n++;
        reply_array(out, n);
        for (int k = 0; k < n; k++)
            reply_simple(out, help[k]);
        return;
    }
    for (i = 0; known != NULL && known[i] != NULL; i++)
        if (request_arg_is(req, 1, known[i]))
            break;
    if (known == NULL || known[i] == NULL) {
        reply_errorf(out, "ERR unknown subcommand '%.128s'. Try %s HELP.", req->argv[1], cmd);
        return;
    }
    for (i = 0; cmd[i] != '\0' && i < sizeof(lower) - 1; i++)
        lower[i] = (char)tolower((unsigned char)cmd[i]);
    lower[i] = '\0';
    reply_wrong_subcommand_arity(out, lower, req->argv[1]);
}

int command_parse_randcount(const struct request *req, const char *with_word, long long *count,
                            int *with, struct buf *out)
{
    *count = 0;
    *with = 0;
    if (req->argc < 3)
        return 0;
    if (command_arg_ll(req, 2, count, out) != 0)
        return -1;
    if (*count < -LONG_MAX) {
        reply_errorf(out, "ERR value is out of range, value must between %ld and %ld", -LONG_MAX,
                     LONG_MAX);
        return -1;
    }
    if (req->argc > 4 || (req->argc == 4 && !request_arg_is(req, 3, with_word))) {
        reply_syntax_error(out);
        return -1;
    }
    if (req->argc == 4) {
        *with = 1;
        if (*count < -LONG_MAX / 2 || *count > LONG_MAX / 2) {
            reply_error(out, "ERR value is out of range");
            return -1;
        }
    }
    return 0;
}

void command_push_limits(struct request *req, long long a, long long b)
{
    char tmp[48]; /* two longs and the colon; no snprintf: this runs for every proposed write */
    size_t n = util_ll2str(tmp, a);
    tmp[n++] = ':';
    n += util_ll2str(tmp + n, b);
    request_push(req, tmp, n);
}

int command_take_limits(const struct request *req, long long *a, long long *b)
{
    if (req->argc < 1)
        return -1;
    const char *s = req->argv[req->argc - 1];
    size_t len = req->len[req->argc - 1];
    const char *colon = memchr(s, ':', len);
    long long x, y;
    if (colon == NULL || util_parse_ll(s, (size_t)(colon - s), &x) != 0 ||
        util_parse_ll(colon + 1, len - (size_t)(colon + 1 - s), &y) != 0 || x < 0 || y < 0)
        return -1;
    *a = x;
    *b = y;
    return 0;
}

struct prng *command_prng(struct exec_ctx *ctx)
{
    if (!ctx->prng_seeded) {
        if (ctx->client == NULL || ctx->rng == NULL) {
            prng_seed(&ctx->prng, ctx->apply_seq, ctx->cmd_pos);
        } else {
            *ctx->rng = *ctx->rng * 6364136223846793005ULL + 1442695040888963407ULL;
            prng_seed(&ctx->prng, *ctx->rng, ctx->apply_seq);
        }
        ctx->prng_seeded = 1;
    }
    return &ctx->prng;
}

int64_t command_exec(const struct command *cmd, struct exec_ctx *ctx, struct request *req)
{
    int64_t start = util_mono_us();
    cmd->proc(ctx, req);
    int64_t usec = util_mono_us() - start;
    /* Rows live in the non-const command_rows: only the statistics change. In apply (no
     * client) fsm.c credits the time on the node that counted the call, not here. */
    if (ctx->client != NULL)
        ((struct command *)cmd)->usec += usec;
    return usec;
}
