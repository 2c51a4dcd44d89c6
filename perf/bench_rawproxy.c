/*
 * bench_rawproxy: a TCP forwarder that moves bytes with splice(2) through a
 * pipe, never into user space: the physical limit a relay is compared to
 * in perf/run.sh (msrpload --via through it). Not a benchmark by itself;
 * named bench_* only so perf/CMakeLists.txt builds it.
 *
 *   bench_rawproxy [--copy] LISTEN_HOST:PORT UPSTREAM_HOST:PORT [PORT_FILE]
 *
 * --copy moves the bytes with read(2) and write(2) through a 64 KiB buffer
 * (msrpgw's receive buffer size) instead: the least a forwarder pays that
 * must see every byte, as an MSRP relay must (it finds each chunk's end by
 * its end-line, RFC 4975 section 7.1: a chunk may end before the end its
 * Byte-Range announced, so the body cannot be skipped by its length). On
 * loopback a send cannot be zero-copy either (MSG_ZEROCOPY copies there),
 * so this is two copies per byte, with no parsing at all.
 *
 * PORT 0 picks an ephemeral port; the bound port is printed on stdout and
 * written to PORT_FILE. Every accepted connection gets its own upstream
 * connection and two threads (one per direction) blocking in splice: a
 * design for tens to hundreds of connections on loopback, which is what
 * the harness opens, not for thousands.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct link {
    int in, out;
    struct pair *pair;
};

struct pair {
    struct link a, b;
    atomic_int left; /* directions still running; the last one closes */
};

static int parse_addr(const char *s, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof(host))
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)atoi(colon + 1));
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static bool copy_mode;
#define COPY_BUF (64 * 1024)

/* Moves in -> out through a user-space buffer until EOF or an error. */
static void copy_pump(struct link *l)
{
    char *buf = malloc(COPY_BUF);
    if (!buf)
        return;
    for (;;) {
        ssize_t n = read(l->in, buf, COPY_BUF);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(l->out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                goto done;
            off += w;
        }
    }
done:
    free(buf);
}

static void *pump(void *arg)
{
    struct link *l = arg;
    int p[2];
    if (copy_mode)
        copy_pump(l);
    else if (pipe2(p, O_CLOEXEC) == 0) {
        fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
        for (;;) {
            ssize_t n = splice(l->in, NULL, p[1], NULL, 1 << 20, SPLICE_F_MOVE);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            while (n > 0) {
                ssize_t w = splice(p[0], NULL, l->out, NULL, (size_t)n,
                                   SPLICE_F_MOVE);
                if (w < 0 && errno == EINTR)
                    continue;
                if (w <= 0)
                    goto done;
                n -= w;
            }
        }
    done:
        close(p[0]);
        close(p[1]);
    }
    /* Half-close so the far side sees the EOF; both sockets go with the
     * last direction. */
    shutdown(l->out, SHUT_WR);
    shutdown(l->in, SHUT_RD);
    struct pair *pr = l->pair;
    if (atomic_fetch_sub(&pr->left, 1) == 1) {
        close(pr->a.in);
        close(pr->a.out);
        free(pr);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    struct sockaddr_in lsa, usa;
    if (argc > 1 && strcmp(argv[1], "--copy") == 0) {
        copy_mode = true;
        argv++;
        argc--;
    }
    if (argc < 3 || parse_addr(argv[1], &lsa) || parse_addr(argv[2], &usa)) {
        fprintf(stderr,
                "usage: bench_rawproxy [--copy] LISTEN_HOST:PORT UPSTREAM_HOST:PORT [PORT_FILE]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ls < 0 || bind(ls, (struct sockaddr *)&lsa, sizeof(lsa)) || listen(ls, 1024)) {
        perror("bench_rawproxy: listen");
        return 1;
    }
    socklen_t sl = sizeof(lsa);
    getsockname(ls, (struct sockaddr *)&lsa, &sl);
    printf("%u\n", ntohs(lsa.sin_port));
    fflush(stdout);
    if (argc > 3) {
        char tmp[4096];
        snprintf(tmp, sizeof(tmp), "%s.tmp", argv[3]);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%u\n", ntohs(lsa.sin_port)) < 0 || fclose(f) || rename(tmp, argv[3])) {
            perror("bench_rawproxy: port file");
            return 1;
        }
    }
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, 64 * 1024);
    for (;;) {
        int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
                continue;
            perror("bench_rawproxy: accept");
            return 1;
        }
        int u = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (u < 0 || connect(u, (struct sockaddr *)&usa, sizeof(usa)) != 0) {
            if (u >= 0)
                close(u);
            close(c);
            continue;
        }
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        struct pair *p = calloc(1, sizeof(*p));
        if (!p) {
            close(c);
            close(u);
            continue;
        }
        p->a = (struct link){ .in = c, .out = u, .pair = p };
        p->b = (struct link){ .in = u, .out = c, .pair = p };
        atomic_init(&p->left, 2);
        pthread_t th;
        if (pthread_create(&th, &at, pump, &p->a) != 0) {
            close(c);
            close(u);
            free(p);
            continue;
        }
        if (pthread_create(&th, &at, pump, &p->b) != 0) {
            /* The running direction sees the shutdown and frees the pair. */
            shutdown(c, SHUT_RDWR);
            shutdown(u, SHUT_RDWR);
            atomic_fetch_sub(&p->left, 1);
        }
    }
}
