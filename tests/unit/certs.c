/*
 * certs.c: a throw-away self-signed certificate (contract in certs.h).
 */
#include "certs.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char test_certdir[64];

void test_cert_make(void)
{
    char cmd[512];

    strcpy(test_certdir, "/tmp/ur_cert_XXXXXX");
    cr_assert_not_null(mkdtemp(test_certdir));
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout %s/key.pem -out %s/cert.pem -days 2 -subj /CN=localhost "
             "-addext subjectAltName=DNS:localhost >/dev/null 2>&1",
             test_certdir, test_certdir);
    cr_assert_eq(system(cmd), 0, "openssl req failed");
}

void test_cert_rm(void)
{
    char p[128];

    snprintf(p, sizeof(p), "%s/key.pem", test_certdir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/cert.pem", test_certdir);
    unlink(p);
    rmdir(test_certdir);
}
