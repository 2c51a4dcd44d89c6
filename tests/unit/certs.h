/*
 * certs.h: a throw-away self-signed certificate for the TLS unit tests
 * (test_uring_conn, test_uring_ws), made with openssl in a fresh
 * directory under /tmp.
 */
#ifndef TEST_CERTS_H
#define TEST_CERTS_H

/* The directory holding key.pem and cert.pem (EC P-256, CN and
 * subjectAltName localhost), once test_cert_make ran. */
extern char test_certdir[64];

/* Criterion .init / .fini of a TLS test: make the pair; remove it. */
void test_cert_make(void);
void test_cert_rm(void);

#endif
