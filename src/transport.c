/* A raft_uv_transport that delegates to raft_uv_tcp and sets TCP_NODELAY on every stream it
 * hands to raft. Nothing else: no framing, no buffering. */
#include "transport.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "util.h"

struct connect_wrap {
    struct raft_uv_connect req; /* given to raft_uv_tcp */
    struct raft_uv_connect *outer_req;
    raft_uv_connect_cb outer_cb;
    struct transport *t;
};

static struct transport *transport_of(struct raft_uv_transport *tr)
{
    return tr->impl;
}

static void set_nodelay(struct uv_stream_s *stream)
{
    if (stream != NULL && stream->type == UV_TCP)
        uv_tcp_nodelay((uv_tcp_t *)stream, 1);
}

static int wrap_init(struct raft_uv_transport *tr, raft_id id, const char *address)
{
    struct transport *t = transport_of(tr);
    int rv = t->tcp.init(&t->tcp, id, address);
    if (rv != 0)
        snprintf(tr->errmsg, sizeof(tr->errmsg), "%s", t->tcp.errmsg);
    return rv;
}

static void on_accept(struct raft_uv_transport *tcp, raft_id id, const char *address,
                      struct uv_stream_s *stream)
{
    struct transport *t = tcp->data;
    set_nodelay(stream);
    t->accept_cb(&t->outer, id, address, stream);
}

static int wrap_listen(struct raft_uv_transport *tr, raft_uv_accept_cb cb)
{
    struct transport *t = transport_of(tr);
    t->accept_cb = cb;
    int rv = t->tcp.listen(&t->tcp, on_accept);
    if (rv != 0)
        snprintf(tr->errmsg, sizeof(tr->errmsg), "%s", t->tcp.errmsg);
    return rv;
}

static void on_connect(struct raft_uv_connect *req, struct uv_stream_s *stream, int status)
{
    struct connect_wrap *w = req->data;
    if (status == 0)
        set_nodelay(stream);
    w->outer_cb(w->outer_req, stream, status);
    free(w);
}

static int wrap_connect(struct raft_uv_transport *tr, struct raft_uv_connect *req, raft_id id,
                        const char *address, raft_uv_connect_cb cb)
{
    struct transport *t = transport_of(tr);
    struct connect_wrap *w = xcalloc(1, sizeof(*w));
    w->req.data = w;
    w->outer_req = req;
    w->outer_cb = cb;
    w->t = t;
    int rv = t->tcp.connect(&t->tcp, &w->req, id, address, on_connect);
    if (rv != 0) {
        snprintf(tr->errmsg, sizeof(tr->errmsg), "%s", t->tcp.errmsg);
        free(w); /* a failed connect never calls its callback */
    }
    return rv;
}

static void on_close(struct raft_uv_transport *tcp)
{
    struct transport *t = tcp->data;
    if (t->close_cb)
        t->close_cb(&t->outer);
}

static void wrap_close(struct raft_uv_transport *tr, raft_uv_transport_close_cb cb)
{
    struct transport *t = transport_of(tr);
    t->close_cb = cb;
    t->tcp.close(&t->tcp, on_close);
}

int transport_init(struct transport *t, struct uv_loop_s *loop)
{
    memset(t, 0, sizeof(*t));
    t->tcp.data = t;
    int rv = raft_uv_tcp_init(&t->tcp, loop);
    if (rv != 0)
        return rv;
    t->outer.impl = t;
    t->outer.init = wrap_init;
    t->outer.listen = wrap_listen;
    t->outer.connect = wrap_connect;
    t->outer.close = wrap_close;
    return 0;
}

void transport_close(struct transport *t)
{
    raft_uv_tcp_close(&t->tcp);
}
