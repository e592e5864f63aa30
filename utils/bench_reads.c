/* A GET load generator for follower reads, which redis-benchmark cannot drive (it has no way
 * to send READONLY first): C connections spread round-robin over the given ports, each a
 * thread with a blocking hiredis connection that optionally sends READONLY, then GETs random
 * keys of key:0..R-1 until N requests are done in all. Prints requests per second.
 *   bench_reads -p 7001,7002,7003 -c 50 -n 200000 -r 100000 [--readonly] */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#define MAX_PORTS 16

static int ports[MAX_PORTS], nports;
static long long total, keyspace = 100000;
static int readonly;
static atomic_llong issued, errors;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker(void *arg)
{
    int port = ports[(long)arg % nports];
    unsigned seed = (unsigned)(long)arg * 2654435761u + 1;
    redisContext *c = redisConnect("127.0.0.1", port);
    if (c == NULL || c->err) {
        fprintf(stderr, "bench_reads: cannot connect to %d\n", port);
        exit(1);
    }
    if (readonly) {
        redisReply *r = redisCommand(c, "READONLY");
        if (r == NULL || r->type != REDIS_REPLY_STATUS) {
            fprintf(stderr, "bench_reads: READONLY refused on %d\n", port);
            exit(1);
        }
        freeReplyObject(r);
    }
    while (atomic_fetch_add(&issued, 1) < total) {
        redisReply *r = redisCommand(c, "GET key:%012lld", (long long)(rand_r(&seed) % keyspace));
        if (r == NULL) {
            fprintf(stderr, "bench_reads: connection to %d failed: %s\n", port, c->errstr);
            exit(1);
        }
        if (r->type == REDIS_REPLY_ERROR)
            atomic_fetch_add(&errors, 1);
        freeReplyObject(r);
    }
    redisFree(c);
    return NULL;
}

int main(int argc, char **argv)
{
    int clients = 50;
    total = 100000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-p") && i + 1 < argc) {
            for (char *s = strtok(argv[++i], ","); s && nports < MAX_PORTS; s = strtok(NULL, ","))
                ports[nports++] = atoi(s);
        } else if (!strcmp(argv[i], "-c") && i + 1 < argc) {
            clients = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
            total = atoll(argv[++i]);
        } else if (!strcmp(argv[i], "-r") && i + 1 < argc) {
            keyspace = atoll(argv[++i]);
        } else if (!strcmp(argv[i], "--readonly")) {
            readonly = 1;
        } else {
            fprintf(stderr, "usage: bench_reads -p PORT[,PORT...] [-c 50] [-n 100000] [-r 100000] [--readonly]\n");
            return 2;
        }
    }
    if (nports == 0 || clients <= 0 || total <= 0 || keyspace <= 0) {
        fprintf(stderr, "bench_reads: need -p and positive -c, -n, -r\n");
        return 2;
    }
    pthread_t *t = calloc((size_t)clients, sizeof(*t));
    double start = now_s();
    for (long i = 0; i < clients; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < clients; i++)
        pthread_join(t[i], NULL);
    double secs = now_s() - start;
    printf("GET: %.2f requests per second (%lld requests, %d clients, %d nodes, %lld errors)\n",
           (double)total / secs, total, clients, nports, (long long)atomic_load(&errors));
    free(t);
    return atomic_load(&errors) ? 1 : 0;
}
