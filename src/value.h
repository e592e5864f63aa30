/* The operations on the object of a non-string key (kv_entry_obj), one table of functions
 * per type: the keyspace frees and digests values through it, snapshots write and read them
 * through it, COPY, OBJECT ENCODING, DEBUG DIGEST-VALUE and MEMORY USAGE use it. Each type
 * defines its row in its own module (value_ops_hash in hash_value.c, ...); value.c maps
 * enum kv_type to rows, so a new type is one row and one line in that map. Pure: no I/O. */
#ifndef CONCORDKV_VALUE_H
#define CONCORDKV_VALUE_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct codec_reader;

/* Where a snapshot writer puts a value: B grows, and FLUSH (when not NULL) may be called
 * whenever B holds more than VALUE_SNAP_FLUSH bytes, to write it out and empty it. */
#define VALUE_SNAP_FLUSH (1u << 20)
struct value_snap {
    struct buf *b;
    void (*flush)(struct value_snap *w);
};

struct value_ops {
    const char *type_name;                          /* TYPE's answer */
    size_t (*len)(const void *obj);                 /* elements (fields, members) */
    void (*free)(void *obj);
    /* Release at most about BUDGET elements; 1 when OBJ is entirely gone. */
    int (*free_step)(void *obj, size_t budget);
    void *(*dup)(const void *obj);                  /* deep copy, same encoding (COPY) */
    size_t (*bytes)(const void *obj);               /* estimate of the bytes held */
    const char *(*encoding)(const void *obj);       /* OBJECT ENCODING's answer */
    /* A digest of the content with SEED, encoding-independent; order-independent except
     * for a list, whose order is its content. */
    uint64_t (*digest)(void *obj, uint64_t seed);
    /* Snapshot form: everything needed to rebuild the same encoding and layout. */
    void (*snap_write)(struct value_snap *w, void *obj);
    /* Read what snap_write wrote; NULL (R->bad set) when damaged or empty. */
    void *(*snap_read)(struct codec_reader *r);
};

/* The row of TYPE, or NULL for KV_STRING and for a type that does not exist (yet). */
const struct value_ops *value_ops(int type);

/* Snapshot primitives shared by every type's row and by fsm.c: a u64, and a u64-length-
 * prefixed string; value_get_str returns "" of length 0 (R->bad set) when it does not fit. */
void value_put_u64(struct buf *b, uint64_t v);
void value_put_str(struct buf *b, const char *s, size_t len);
const char *value_get_str(struct codec_reader *r, size_t *len);
/* A hashtable encoding's dict shape (dict_get_shape) as four u64s, and the empty dict of
 * the shape read back (dict_new_shaped with DICT_DEFAULT_SEED), or NULL (R->bad set) when
 * damaged or impossible; the caller owns it. */
struct dict;
void value_put_dict_shape(struct buf *b, const struct dict *d);
struct dict *value_get_shaped_dict(struct codec_reader *r);
/* The common shape of a snap_read: a u64 encoding, then what READERS[encoding] (N of them)
 * reads. The value is refused (freed with OPS->free, NULL, R->bad set) when the encoding is
 * unknown, the body damaged or the value empty. */
typedef void *value_body_reader(struct codec_reader *r);
void *value_snap_read_encoded(struct codec_reader *r, value_body_reader *const *readers,
                              size_t n, const struct value_ops *ops);
/* Call W's flush when its buffer has passed VALUE_SNAP_FLUSH. */
void value_snap_maybe_flush(struct value_snap *w);

extern const struct value_ops value_ops_hash;
extern const struct value_ops value_ops_set;
extern const struct value_ops value_ops_zset;
extern const struct value_ops value_ops_list;

#endif
