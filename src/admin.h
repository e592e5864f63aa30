/* The HTTP admin API (libevent's evhttp, JSON with jansson): cluster changes, status,
 * health and Prometheus metrics on admin-port. */
#ifndef CONCORDKV_ADMIN_H
#define CONCORDKV_ADMIN_H

#include <stddef.h>

struct server;

/* Listen on bind:admin-port (nothing when admin-port is 0). Returns 0, or -1 with ERR. */
int admin_start(struct server *srv, char *err, size_t errlen);
/* Stop listening and answer pending requests (503). NULL-safe on a server without admin. */
void admin_stop(struct server *srv);

#endif
