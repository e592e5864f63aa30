/* The members' RESP addresses kept in DIR/peers: after a restart, before anything is applied,
 * a node removed while it was down still has someone to ask. File I/O only. */
#ifndef CONCORDKV_PEERS_FILE_H
#define CONCORDKV_PEERS_FILE_H

#include <stdint.h>

struct fsm;

/* Write the RESP addresses of FSM's live nodes other than SELF to DIR/peers (atomically,
 * through a rename) when they differ from the ones whose hash is *SAVED_HASH, which is
 * updated once they are written. Nothing is written when there are none. */
void peers_file_save(const char *dir, const struct fsm *fsm, uint64_t self, uint64_t *saved_hash);
/* The K-th saved address (wrapping) into OUT; returns 1, or 0 when there is none. */
int peers_file_pick(const char *dir, int k, char out[64]);

#endif
