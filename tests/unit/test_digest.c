/* test_digest.c: RFC 4976 AUTH Digest: vectors, round trips, stale and
 * forged nonces, the no-uri= client, hostile header values. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "proto/digest.h"
#include "proto/error.h"

#define S(lit) MSRP_SLICE_LIT(lit)

static struct msrp_slice cs(const char *s)
{
    return msrp_slice(s, strlen(s));
}

static void md5(char out[33], const char *a, const char *b, const char *c)
{
    struct msrp_slice p[3] = { cs(a), cs(b), c ? cs(c) : S("") };
    cr_assert_eq(msrp_digest_md5_hex(out, p, c ? 3 : 2), 0);
}

/* RFC 2617 section 3.5. */
Test(digest, rfc2617_vector)
{
    char ha1[33], ha2[33], rsp[33];
    md5(ha1, "Mufasa", "testrealm@host.com", "Circle Of Life");
    cr_assert_str_eq(ha1, "939e7578ed9e3c518a452acee763bce9");
    md5(ha2, "GET", "/dir/index.html", NULL);
    cr_assert_str_eq(ha2, "39aff3a2bab6126f332b942af96d3366");
    struct msrp_slice r[6] = { cs(ha1), S("dcd98b7102dd2f0e8b11d0f600bfb0c093"), S("00000001"),
                               S("0a4f113b"), S("auth"), cs(ha2) };
    cr_assert_eq(msrp_digest_md5_hex(rsp, r, 6), 0);
    cr_assert_str_eq(rsp, "6629fae49393a05397450978507c4ef1");
}

Test(digest, parse_rfc2617_authorization)
{
    static struct msrp_digest_fields f;
    const char *h = "Digest username=\"Mufasa\",\r\n realm=\"testrealm@host.com\",\r\n"
                    "\tnonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\",\r\n"
                    " qop=auth, nc=00000001, cnonce=\"0a4f113b\",\r\n"
                    " response=\"6629fae49393a05397450978507c4ef1\",\r\n"
                    " opaque=\"5ccc069c403ebaf9f0171e9517f40e41\", x-unknown=\"ignored\"";
    cr_assert_eq(msrp_digest_parse(&f, h, strlen(h)), 0);
    cr_assert(msrp_slice_eq(f.username, S("Mufasa")));
    cr_assert(msrp_slice_eq(f.realm, S("testrealm@host.com")));
    cr_assert(msrp_slice_eq(f.nonce, S("dcd98b7102dd2f0e8b11d0f600bfb0c093")));
    cr_assert(msrp_slice_eq(f.uri, S("/dir/index.html")));
    cr_assert(msrp_slice_eq(f.qop, S("auth")));
    cr_assert(msrp_slice_eq(f.nc, S("00000001")));
    cr_assert(msrp_slice_eq(f.cnonce, S("0a4f113b")));
    cr_assert(msrp_slice_eq(f.response, S("6629fae49393a05397450978507c4ef1")));
    cr_assert(msrp_slice_eq(f.opaque, S("5ccc069c403ebaf9f0171e9517f40e41")));
    cr_assert_null(f.algorithm.p);
    cr_assert_null(f.stale.p);
}

Test(digest, parse_quoting_escapes_and_case)
{
    static struct msrp_digest_fields f;
    const char *h = "digest  USERNAME = \"a\\\"b\\\\c\" ,, Realm=\"\" ,qop=\"auth\",nc=\"00000001\"";
    cr_assert_eq(msrp_digest_parse(&f, h, strlen(h)), 0);
    cr_assert(msrp_slice_eq(f.username, S("a\"b\\c")));
    cr_assert_not_null(f.realm.p); /* present but empty */
    cr_assert_eq(f.realm.n, 0);
    cr_assert(msrp_slice_eq(f.qop, S("auth")));
    cr_assert(msrp_slice_eq(f.nc, S("00000001")));
}

Test(digest, parse_rejects_hostile)
{
    static struct msrp_digest_fields f;
    static const char *bad[] = {
        "",
        "Digest",
        "Digest ",
        "Basic dXNlcjpwYXNz",
        "Digestusername=\"a\"",
        "Digest username",
        "Digest username=",
        "Digest username=\"abc",
        "Digest username=\"abc\\",
        "Digest username=\"a\rb\"",
        "Digest username=\"a\nb\"",
        "Digest username=\"a\\\rb\"",
        "Digest username=\"a\x01\"",
        "Digest username=a b",
        "Digest username=\"a\" realm=\"b\"",
        "Digest username=\"a\", username=\"b\"",
        "Digest =x",
        "Digest a=\"b\",\r\nc=d", /* CRLF not followed by WSP */
        "Digest a=@",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(msrp_digest_parse(&f, bad[i], strlen(bad[i])), MSRP_E_AUTH_PARAM, "'%s'", bad[i]);

    /* Embedded NUL. */
    cr_assert_eq(msrp_digest_parse(&f, "Digest a=\"x\0y\"", 14), MSRP_E_AUTH_PARAM);

    /* Bounded: a value larger than the store, too many parameters. */
    static char big[MSRP_DIGEST_STORE + 64];
    int n = snprintf(big, sizeof(big), "Digest username=\"");
    memset(big + n, 'x', MSRP_DIGEST_STORE + 1);
    memcpy(big + n + MSRP_DIGEST_STORE + 1, "\"", 2);
    cr_assert_eq(msrp_digest_parse(&f, big, strlen(big)), MSRP_E_AUTH_PARAM);
    char many[1024];
    n = snprintf(many, sizeof(many), "Digest ");
    for (int i = 0; i <= MSRP_DIGEST_MAX_PARAMS; i++)
        n += snprintf(many + n, sizeof(many) - (size_t)n, "p%d=v,", i);
    cr_assert_eq(msrp_digest_parse(&f, many, (size_t)n), MSRP_E_AUTH_PARAM);
}

static const uint8_t secret[] = "0123456789abcdef-test-secret";
static const struct msrp_digest_server server = {
    .secret = secret, .secret_len = sizeof(secret) - 1, .realm = { "relay.example.com", 17 },
    .lifetime = 300,
};
static const struct msrp_digest_server other_secret = {
    .secret = (const uint8_t *)"another-secret-of-16", .secret_len = 20,
    .realm = { "relay.example.com", 17 }, .lifetime = 300,
};
#define TO_PATH "msrps://relay.example.com:2855;tcp"

/* Challenge at `now`, client answer, parsed back: the relay's view. */
static void client_round(uint64_t now, const char *password, bool omit_uri, const char *uri,
                         struct msrp_digest_fields *cred)
{
    static char chal_text[512], auth_text[1024];
    static struct msrp_digest_fields chal;
    int n = msrp_digest_challenge(chal_text, sizeof(chal_text), &server, now, 42, false);
    cr_assert_gt(n, 0);
    cr_assert_eq(msrp_digest_parse(&chal, chal_text, (size_t)n), 0, "%.*s", n, chal_text);
    struct msrp_digest_client c = { S("alice"), cs(password), cs(uri), S("c0ffee11"), 1, omit_uri };
    n = msrp_digest_authorization(auth_text, sizeof(auth_text), &chal, &c);
    cr_assert_gt(n, 0);
    cr_assert_eq(msrp_digest_parse(cred, auth_text, (size_t)n), 0, "%.*s", n, auth_text);
    cr_assert_eq(omit_uri, cred->uri.p == NULL);
}

static struct msrp_digest_check check_pw(const char *pw)
{
    return (struct msrp_digest_check){ S("AUTH"), S(TO_PATH), cs(pw), S("") };
}

Test(digest, challenge_format)
{
    char b[512];
    int n = msrp_digest_challenge(b, sizeof(b), &server, 0x65000000, 7, true);
    cr_assert_gt(n, 0);
    b[n] = '\0';
    /* nonce = 16 hex time, 16 hex salt, 32 hex tag */
    cr_assert_eq(strncmp(b, "Digest realm=\"relay.example.com\", nonce=\"0000000065000000"
                            "0000000000000007", 73), 0, "%s", b);
    cr_assert_not_null(strstr(b, "\", opaque=\""));
    cr_assert_not_null(strstr(b, ", qop=\"auth\", algorithm=MD5, stale=true"));
    cr_assert_eq(n, (int)strlen("Digest realm=\"relay.example.com\", nonce=\"\", opaque=\"\", "
                                "qop=\"auth\", algorithm=MD5, stale=true") + 64 + 32);
    for (int cap = 0; cap < n; cap++)
        cr_assert_eq(msrp_digest_challenge(b, (size_t)cap, &server, 1, 7, true), MSRP_E_NOSPACE);
}

Test(digest, auth_round_trip)
{
    static struct msrp_digest_fields cred;
    client_round(1000, "secret pw", false, TO_PATH, &cred);
    struct msrp_digest_check chk = check_pw("secret pw");
    uint32_t nc = 0;
    cr_assert_eq(msrp_digest_verify(&server, 1000, &cred, &chk, &nc), 0);
    cr_assert_eq(nc, 1);
    cr_assert_eq(msrp_digest_verify(&server, 1300, &cred, &chk, &nc), 0); /* lifetime edge */
    /* Precomputed HA1 instead of the password. */
    char ha1[33];
    md5(ha1, "alice", "relay.example.com", "secret pw");
    struct msrp_digest_check chk2 = { S("AUTH"), S(TO_PATH), S(""), cs(ha1) };
    cr_assert_eq(msrp_digest_verify(&server, 1000, &cred, &chk2, NULL), 0);
    /* Wrong password. */
    struct msrp_digest_check bad = check_pw("secret pW");
    cr_assert_eq(msrp_digest_verify(&server, 1000, &cred, &bad, NULL), MSRP_E_AUTH_FAILED);
    /* Method is part of HA2. */
    struct msrp_digest_check send = { S("SEND"), S(TO_PATH), S("secret pw"), S("") };
    cr_assert_eq(msrp_digest_verify(&server, 1000, &cred, &send, NULL), MSRP_E_AUTH_FAILED);
}

Test(digest, stale_and_forged_nonces)
{
    static struct msrp_digest_fields cred;
    struct msrp_digest_check chk = check_pw("pw");
    client_round(1000, "pw", false, TO_PATH, &cred);
    uint32_t nc = 0;
    cr_assert_eq(msrp_digest_verify(&server, 1301, &cred, &chk, &nc), MSRP_E_AUTH_STALE);
    cr_assert_eq(nc, 1);
    /* Stale is only said to a client that knows the password. */
    struct msrp_digest_check bad = check_pw("nope");
    cr_assert_eq(msrp_digest_verify(&server, 1301, &cred, &bad, NULL), MSRP_E_AUTH_FAILED);
    /* Same nonce checked under another secret: forged. */
    cr_assert_eq(msrp_digest_verify(&other_secret, 1000, &cred, &chk, NULL), MSRP_E_AUTH_FAILED);
    /* Tamper with the time stamp (to make an old nonce look fresh). */
    char *nonce = (char *)cred.nonce.p;
    char saved = nonce[15];
    nonce[15] = saved == '0' ? '1' : '0';
    cr_assert_eq(msrp_digest_verify(&server, 1000, &cred, &chk, NULL), MSRP_E_AUTH_FAILED);
    nonce[15] = saved;
    cr_assert_eq(msrp_digest_verify(&server, 1000, &cred, &chk, NULL), 0);
    nonce[63] = nonce[63] == 'a' ? 'b' : 'a'; /* tag */
    cr_assert_eq(msrp_digest_verify(&server, 1000, &cred, &chk, NULL), MSRP_E_AUTH_FAILED);
    cred.nonce.n = 10; /* wrong length */
    cr_assert_eq(msrp_digest_verify(&server, 1000, &cred, &chk, NULL), MSRP_E_AUTH_FAILED);
}

/* The widely deployed client (PEERS.md): no uri=, quoted qop and nc,
 * hashes AUTH:<To-Path URI>. Built by hand, hashed independently. */
Test(digest, client_without_uri_uses_to_path)
{
    char chal_text[512];
    static struct msrp_digest_fields chal, cred;
    int n = msrp_digest_challenge(chal_text, sizeof(chal_text), &server, 5000, 9, false);
    cr_assert_eq(msrp_digest_parse(&chal, chal_text, (size_t)n), 0);
    char ha1[33], ha2[33], rsp[33], nonce[65], opaque[33];
    snprintf(nonce, sizeof(nonce), "%.*s", (int)chal.nonce.n, chal.nonce.p);
    snprintf(opaque, sizeof(opaque), "%.*s", (int)chal.opaque.n, chal.opaque.p);
    md5(ha1, "bob", "relay.example.com", "hunter2");
    md5(ha2, "AUTH", TO_PATH, NULL);
    struct msrp_slice r[6] = { cs(ha1), cs(nonce), S("00000001"), S("9f8e7d"), S("auth"), cs(ha2) };
    cr_assert_eq(msrp_digest_md5_hex(rsp, r, 6), 0);
    char auth[1024];
    n = snprintf(auth, sizeof(auth),
                 "Digest username=\"bob\",realm=\"relay.example.com\",nonce=\"%s\","
                 "response=\"%s\",qop=\"auth\",nc=\"00000001\",cnonce=\"9f8e7d\",opaque=\"%s\"",
                 nonce, rsp, opaque);
    cr_assert_eq(msrp_digest_parse(&cred, auth, (size_t)n), 0);
    struct msrp_digest_check chk = check_pw("hunter2");
    uint32_t nc = 0;
    cr_assert_eq(msrp_digest_verify(&server, 5001, &cred, &chk, &nc), 0);
    cr_assert_eq(nc, 1);
    /* Another To-Path than the one hashed: fails. */
    struct msrp_digest_check other = { S("AUTH"), S("msrps://relay.example.com:2856;tcp"),
                                       S("hunter2"), S("") };
    cr_assert_eq(msrp_digest_verify(&server, 5001, &cred, &other, NULL), MSRP_E_AUTH_FAILED);
    /* Without uri= nor a To-Path there is nothing to hash. */
    struct msrp_digest_check none = { S("AUTH"), S(""), S("hunter2"), S("") };
    cr_assert_eq(msrp_digest_verify(&server, 5001, &cred, &none, NULL), MSRP_E_AUTH_PARAM);
    /* Wrong opaque. */
    ((char *)cred.opaque.p)[0] ^= 1;
    cr_assert_eq(msrp_digest_verify(&server, 5001, &cred, &chk, NULL), MSRP_E_AUTH_FAILED);
}

Test(digest, omit_uri_client_and_uri_binding)
{
    static struct msrp_digest_fields cred;
    struct msrp_digest_check chk = check_pw("pw");
    client_round(10, "pw", true, TO_PATH, &cred);
    cr_assert_eq(msrp_digest_verify(&server, 10, &cred, &chk, NULL), 0);
    /* uri= present: must name the AUTH's To-Path (6.1 equality: scheme
     * and host case do not matter). */
    client_round(10, "pw", false, "MSRPS://RELAY.example.com:2855;tcp", &cred);
    cr_assert_eq(msrp_digest_verify(&server, 10, &cred, &chk, NULL), 0);
    client_round(10, "pw", false, "msrps://elsewhere.example.com:2855;tcp", &cred);
    cr_assert_eq(msrp_digest_verify(&server, 10, &cred, &chk, NULL), MSRP_E_AUTH_FAILED);
}

Test(digest, verify_rejects_bad_params)
{
    static struct msrp_digest_fields cred;
    struct msrp_digest_check chk = check_pw("pw");
    static const char *bad[] = {
        "Digest realm=\"relay.example.com\", nonce=\"x\", response=\"y\", qop=auth, nc=00000001, cnonce=\"c\"",
        "Digest username=\"a\", realm=\"relay.example.com\", nonce=\"x\", response=\"y\", nc=00000001, cnonce=\"c\"",
        "Digest username=\"a\", realm=\"relay.example.com\", nonce=\"x\", response=\"y\", qop=auth-int, nc=00000001, cnonce=\"c\"",
        "Digest username=\"a\", realm=\"relay.example.com\", nonce=\"x\", response=\"y\", qop=auth, nc=1, cnonce=\"c\"",
        "Digest username=\"a\", realm=\"relay.example.com\", nonce=\"x\", response=\"y\", qop=auth, nc=0000000g, cnonce=\"c\"",
        "Digest username=\"a\", realm=\"relay.example.com\", nonce=\"x\", response=\"y\", qop=auth, nc=00000001, cnonce=\"\"",
        "Digest username=\"a\", realm=\"relay.example.com\", nonce=\"x\", response=\"y\", qop=auth, nc=00000001, cnonce=\"c\", algorithm=SHA-256",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(msrp_digest_parse(&cred, bad[i], strlen(bad[i])), 0, "%s", bad[i]);
        cr_assert_eq(msrp_digest_verify(&server, 1, &cred, &chk, NULL), MSRP_E_AUTH_PARAM, "%s", bad[i]);
    }
    const char *wrong_realm = "Digest username=\"a\", realm=\"evil\", nonce=\"x\", response=\"y\", "
                              "qop=auth, nc=00000001, cnonce=\"c\"";
    cr_assert_eq(msrp_digest_parse(&cred, wrong_realm, strlen(wrong_realm)), 0);
    cr_assert_eq(msrp_digest_verify(&server, 1, &cred, &chk, NULL), MSRP_E_AUTH_FAILED);
}

Test(digest, authentication_info_rspauth)
{
    static struct msrp_digest_fields cred;
    client_round(77, "pw", false, TO_PATH, &cred);
    struct msrp_digest_check chk = check_pw("pw");
    char out[256], ha1[33], ha2[33], rsp[33], nonce[65];
    int n = msrp_digest_auth_info(out, sizeof(out), &cred, &chk);
    cr_assert_gt(n, 0);
    md5(ha1, "alice", "relay.example.com", "pw");
    md5(ha2, "", TO_PATH, NULL); /* ":" digest-uri */
    snprintf(nonce, sizeof(nonce), "%.*s", (int)cred.nonce.n, cred.nonce.p);
    struct msrp_slice r[6] = { cs(ha1), cs(nonce), S("00000001"), S("c0ffee11"), S("auth"), cs(ha2) };
    cr_assert_eq(msrp_digest_md5_hex(rsp, r, 6), 0);
    char want[256];
    int w = snprintf(want, sizeof(want), "qop=auth, rspauth=\"%s\", cnonce=\"c0ffee11\", nc=00000001", rsp);
    cr_assert_eq(n, w);
    cr_assert_eq(memcmp(out, want, (size_t)w), 0, "%.*s", n, out);
}

Test(digest, client_against_rfc2617_style_challenge)
{
    /* A challenge from a foreign server: the response is computed per
     * RFC 2617 with method AUTH; check it independently. */
    static struct msrp_digest_fields chal, cred;
    const char *c = "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", "
                    "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
    cr_assert_eq(msrp_digest_parse(&chal, c, strlen(c)), 0);
    struct msrp_digest_client cl = { S("Mufasa"), S("Circle Of Life"), S("/dir/index.html"),
                                     S("0a4f113b"), 1, false };
    char out[1024];
    int n = msrp_digest_authorization(out, sizeof(out), &chal, &cl);
    cr_assert_gt(n, 0);
    char ha1[33], ha2[33], rsp[33];
    md5(ha1, "Mufasa", "testrealm@host.com", "Circle Of Life");
    md5(ha2, "AUTH", "/dir/index.html", NULL);
    struct msrp_slice r[6] = { cs(ha1), S("dcd98b7102dd2f0e8b11d0f600bfb0c093"), S("00000001"),
                               S("0a4f113b"), S("auth"), cs(ha2) };
    cr_assert_eq(msrp_digest_md5_hex(rsp, r, 6), 0);
    char want[1024];
    int w = snprintf(want, sizeof(want),
                     "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
                     "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", "
                     "response=\"%s\", qop=auth, nc=00000001, cnonce=\"0a4f113b\", "
                     "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\", algorithm=MD5", rsp);
    cr_assert_eq(n, w);
    cr_assert_eq(memcmp(out, want, (size_t)w), 0, "%.*s", n, out);
    cr_assert_eq(msrp_digest_parse(&cred, out, (size_t)n), 0);
    for (int cap = 0; cap < n; cap++)
        cr_assert_eq(msrp_digest_authorization(out, (size_t)cap, &chal, &cl), MSRP_E_NOSPACE);
    /* A challenge offering only auth-int, or another algorithm: refused. */
    const char *c2 = "Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"";
    cr_assert_eq(msrp_digest_parse(&chal, c2, strlen(c2)), 0);
    cr_assert_eq(msrp_digest_authorization(out, sizeof(out), &chal, &cl), MSRP_E_AUTH_PARAM);
    const char *c3 = "Digest realm=\"r\", nonce=\"n\", algorithm=SHA-256";
    cr_assert_eq(msrp_digest_parse(&chal, c3, strlen(c3)), 0);
    cr_assert_eq(msrp_digest_authorization(out, sizeof(out), &chal, &cl), MSRP_E_AUTH_PARAM);
}

/* The stamp a nonce carries names it (replay cache) and its salt binds it
 * (the relay puts a connection id there): a peer that edits the salt to
 * move a nonce to another connection breaks its tag. */
Test(digest, nonce_stamp_and_salt_under_the_tag)
{
    char b[512];
    uint64_t salt = 0x01000000abcdef12ull;
    int n = msrp_digest_challenge(b, sizeof(b), &server, 1000, salt, false);
    cr_assert_gt(n, 0);
    static struct msrp_digest_fields chal;
    cr_assert_eq(msrp_digest_parse(&chal, b, (size_t)n), 0);
    uint64_t ts = 0, s = 0;
    cr_assert_eq(msrp_digest_nonce_stamp(chal.nonce, &ts, &s), 0);
    cr_assert_eq(ts, 1000);
    cr_assert_eq(s, salt);
    cr_assert_eq(msrp_digest_nonce_stamp(msrp_slice(chal.nonce.p, 63), &ts, &s),
                 MSRP_E_AUTH_PARAM);
    cr_assert_eq(msrp_digest_nonce_stamp(S("zz"), &ts, &s), MSRP_E_AUTH_PARAM);

    static struct msrp_digest_fields cred;
    client_round(1000, "pw", false, TO_PATH, &cred);
    struct msrp_digest_check chk = check_pw("pw");
    cr_assert_eq(msrp_digest_verify(&server, 1000, &cred, &chk, NULL), 0);
    char *nonce = (char *)cred.nonce.p;
    nonce[31] = nonce[31] == '0' ? '1' : '0'; /* last salt digit */
    cr_assert_eq(msrp_digest_verify(&server, 1000, &cred, &chk, NULL), MSRP_E_AUTH_FAILED);
}
