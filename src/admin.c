/* The HTTP admin API: placeholder until the evhttp server lands. */
#include "admin.h"

#include "server.h"

int admin_start(struct server *srv, char *err, size_t errlen)
{
    return 0;
}

void admin_stop(struct server *srv)
{
}
