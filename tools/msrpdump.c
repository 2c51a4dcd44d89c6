/*
 * msrpdump: decodes an MSRP byte stream with the proto/ parser and prints
 * one JSON object per frame. It is the reference oracle for the parser's
 * behaviour (tests and bug reports compare its output).
 *
 * Usage: msrpdump [--feed N] [FILE]
 *        msrpdump -h
 *
 *   FILE       the stream to decode; standard input when absent or "-".
 *   --feed N   hand the parser N bytes per call (1 <= N <= 16777216);
 *              default: 65536-byte reads. Any N must print the same output.
 *   -h         this help on standard output, exit 0.
 *
 * Output, one line per complete frame, keys always present and in this
 * order (null where a field does not apply or is absent):
 *
 *   {"kind":"request"|"response","tid":S,"method":S|null,"status":N|null,
 *    "comment":S|null,"headers":[[NAME,VALUE],...],"to_path":[URI,...],
 *    "from_path":[URI,...],"message_id":S|null,
 *    "byte_range":[START,END|null,TOTAL|null]|null,"content_type":S|null,
 *    "body_bytes":N,"body_sha256":HEX,"flag":"$"|"+"|"#"}
 *
 *   method is the method name as received (requests); status and comment
 *   (null when empty) belong to responses; headers lists every header line
 *   in arrival order with names as received and values trimmed; '*' in a
 *   Byte-Range prints as null; body_sha256 is the SHA-256 of the body bytes
 *   (of nothing for a bodyless frame). Strings are JSON-escaped: '"' and
 *   '\' with a backslash, control bytes and bytes that are not part of
 *   valid UTF-8 as \u00XX.
 *
 * Exit status: 0 when the input is a whole number of well-formed frames.
 * On malformed input it prints {"error":NAME,"offset":N} (NAME from
 * msrp_strerror, N the stream offset of the fault) and exits 1; input
 * ending inside a frame prints {"error":"truncated","offset":N} (N = input
 * length) and exits 1. Usage and I/O errors exit 2.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "proto/parser.h"

#define DEFAULT_FEED 65536
#define MAX_FEED (16u << 20)

static void usage(FILE *f)
{
    fputs("usage: msrpdump [--feed N] [FILE]\n"
          "Decodes an MSRP stream (FILE or stdin) and prints one JSON object per frame.\n"
          "  --feed N  feed the parser N bytes at a time (default 65536)\n"
          "  -h        this help\n",
          f);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if none. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

static void json_str(FILE *f, const char *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p;
    fputc('"', f);
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(f, "\\u%04x", c);
            i++;
        } else if (c < 0x80) {
            fputc(c, f);
            i++;
        } else {
            size_t k = utf8_seq(s + i, n - i);
            if (k) {
                fwrite(s + i, 1, k, f);
                i += k;
            } else {
                fprintf(f, "\\u%04x", c);
                i++;
            }
        }
    }
    fputc('"', f);
}

static void json_slice_or_null(FILE *f, struct msrp_slice s)
{
    if (s.n)
        json_str(f, s.p, s.n);
    else
        fputs("null", f);
}

static void json_path(FILE *f, const struct msrp_uri *u, uint16_t n)
{
    fputc('[', f);
    for (uint16_t i = 0; i < n; i++) {
        if (i)
            fputc(',', f);
        json_str(f, u[i].raw.p, u[i].raw.n);
    }
    fputc(']', f);
}

static void json_br_field(FILE *f, uint64_t v)
{
    if (v == MSRP_BR_STAR)
        fputs("null", f);
    else
        fprintf(f, "%llu", (unsigned long long)v);
}

static void print_frame(FILE *f, const struct msrp_head *h, uint64_t body_bytes,
                        const unsigned char digest[WC_SHA256_DIGEST_SIZE], char flag)
{
    bool req = h->kind == MSRP_REQUEST;
    fprintf(f, "{\"kind\":\"%s\",\"tid\":", req ? "request" : "response");
    json_str(f, h->tid.p, h->tid.n);
    fputs(",\"method\":", f);
    if (req)
        json_str(f, h->method_name.p, h->method_name.n);
    else
        fputs("null", f);
    fputs(",\"status\":", f);
    if (req)
        fputs("null", f);
    else
        fprintf(f, "%u", h->status);
    fputs(",\"comment\":", f);
    if (req)
        fputs("null", f);
    else
        json_slice_or_null(f, h->comment);
    fputs(",\"headers\":[", f);
    for (uint16_t i = 0; i < h->n_headers; i++) {
        fputs(i ? ",[" : "[", f);
        json_str(f, h->headers[i].name.p, h->headers[i].name.n);
        fputc(',', f);
        json_str(f, h->headers[i].value.p, h->headers[i].value.n);
        fputc(']', f);
    }
    fputs("],\"to_path\":", f);
    json_path(f, h->to_path, h->n_to_path);
    fputs(",\"from_path\":", f);
    json_path(f, h->from_path, h->n_from_path);
    fputs(",\"message_id\":", f);
    json_slice_or_null(f, h->message_id);
    fputs(",\"byte_range\":", f);
    if (h->has_byte_range) {
        fprintf(f, "[%llu,", (unsigned long long)h->byte_range.start);
        json_br_field(f, h->byte_range.end);
        fputc(',', f);
        json_br_field(f, h->byte_range.total);
        fputc(']', f);
    } else {
        fputs("null", f);
    }
    fputs(",\"content_type\":", f);
    json_slice_or_null(f, h->content_type);
    fprintf(f, ",\"body_bytes\":%llu,\"body_sha256\":\"", (unsigned long long)body_bytes);
    for (int i = 0; i < WC_SHA256_DIGEST_SIZE; i++)
        fprintf(f, "%02x", digest[i]);
    fprintf(f, "\",\"flag\":\"%c\"}\n", flag);
}

struct dump {
    struct msrp_parser p;
    struct msrp_head head;
    char scratch[16384];
    wc_Sha256 sha;
    uint64_t body_bytes;
};

/* Feeds one read; returns 0, or 1 after printing a parse error. */
static int feed(struct dump *d, const char *buf, size_t n)
{
    size_t off = 0;
    for (;;) {
        struct msrp_event ev;
        off += msrp_parse(&d->p, buf + off, n - off, &ev);
        switch (ev.type) {
        case MSRP_EV_NONE:
            return 0;
        case MSRP_EV_FRAME_START:
            wc_InitSha256(&d->sha);
            d->body_bytes = 0;
            break;
        case MSRP_EV_BODY:
            wc_Sha256Update(&d->sha, (const byte *)ev.body.p, (word32)ev.body.n);
            d->body_bytes += ev.body.n;
            break;
        case MSRP_EV_FRAME_END: {
            unsigned char digest[WC_SHA256_DIGEST_SIZE];
            wc_Sha256Final(&d->sha, digest);
            print_frame(stdout, ev.head, d->body_bytes, digest, ev.flag);
            break;
        }
        case MSRP_EV_ERROR:
            printf("{\"error\":\"%s\",\"offset\":%llu}\n", msrp_strerror(ev.error),
                   (unsigned long long)ev.error_offset);
            return 1;
        default:
            break;
        }
    }
}

int main(int argc, char **argv)
{
    size_t feed_n = DEFAULT_FEED;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--feed") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(argv[++i], &end, 10);
            if (errno || *end || v < 1 || v > MAX_FEED || argv[i][0] == '-') {
                fprintf(stderr, "msrpdump: bad --feed value '%s'\n", argv[i]);
                return 2;
            }
            feed_n = (size_t)v;
        } else if (argv[i][0] == '-' && strcmp(argv[i], "-") != 0) {
            usage(stderr);
            return 2;
        } else if (!path) {
            path = argv[i];
        } else {
            usage(stderr);
            return 2;
        }
    }

    FILE *in = stdin;
    if (path && strcmp(path, "-") != 0) {
        in = fopen(path, "rb");
        if (!in) {
            fprintf(stderr, "msrpdump: %s: %s\n", path, strerror(errno));
            return 2;
        }
    }
    struct dump *d = calloc(1, sizeof *d);
    char *buf = malloc(feed_n);
    if (!d || !buf) {
        fprintf(stderr, "msrpdump: out of memory\n");
        return 2;
    }
    if (msrp_parser_init(&d->p, NULL, &d->head, d->scratch, sizeof d->scratch) != 0) {
        fprintf(stderr, "msrpdump: parser init failed\n");
        return 2;
    }
    uint64_t total = 0;
    int rc = 0;
    for (;;) {
        size_t got = fread(buf, 1, feed_n, in);
        if (got == 0)
            break;
        total += got;
        if (feed(d, buf, got)) {
            rc = 1;
            break;
        }
    }
    if (rc == 0 && ferror(in)) {
        fprintf(stderr, "msrpdump: read error: %s\n", strerror(errno));
        rc = 2;
    } else if (rc == 0 && msrp_parser_in_frame(&d->p)) {
        printf("{\"error\":\"truncated\",\"offset\":%llu}\n", (unsigned long long)total);
        rc = 1;
    }
    if (in != stdin)
        fclose(in);
    free(buf);
    free(d);
    if (fflush(stdout) != 0)
        return 2;
    return rc;
}
