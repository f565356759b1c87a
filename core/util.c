/*
 * util.c
 *
 * Time, randomness, UUIDs and small text checks.  Randomness comes from
 * OpenSSL's CSPRNG; a failure there is treated like running out of memory.
 */
#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

int64_t fl_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t fl_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void fl_random_bytes(void *buf, size_t n)
{
    if (RAND_bytes(buf, (int)n) != 1) {
        fprintf(stderr, "floe: random number generator failed\n");
        abort();
    }
}

static void uuid_format(const unsigned char b[16], char out[37])
{
    static const char hex[] = "0123456789abcdef";
    size_t i;
    char  *p = out;

    for (i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            *p++ = '-';
        }
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 15];
    }
    *p = '\0';
}

/* A random (version 4) UUID in canonical lower-case form. */
void fl_uuid_v4(char out[37])
{
    unsigned char b[16];

    fl_random_bytes(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    uuid_format(b, out);
}

/* A time-ordered (version 7, RFC 9562) UUID: 48 bits of Unix ms first. */
void fl_uuid_v7(char out[37])
{
    unsigned char b[16];
    uint64_t      ms = (uint64_t)fl_now_ms();
    int           i;

    fl_random_bytes(b, sizeof(b));
    for (i = 0; i < 6; i++) {
        b[i] = (unsigned char)(ms >> (40 - 8 * i));
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x70);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    uuid_format(b, out);
}

/* True when `s` is a canonical 8-4-4-4-12 hexadecimal UUID. */
bool fl_uuid_valid(const char *s)
{
    size_t i;

    if (strlen(s) != 36) {
        return false;
    }
    for (i = 0; i < 36; i++) {
        bool dash = (i == 8 || i == 13 || i == 18 || i == 23);

        if (dash != (s[i] == '-')) {
            return false;
        }
        if (!dash && strchr("0123456789abcdefABCDEF", s[i]) == NULL) {
            return false;
        }
    }
    return true;
}

/*
 * Parse a whole decimal integer within [min, max].  Rejects empty strings,
 * trailing characters and overflow (atoi's silent failures).
 */
bool fl_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char     *end;
    long long v;

    if (s == NULL || *s == '\0') {
        return false;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) {
        return false;
    }
    *out = v;
    return true;
}

/* Strict UTF-8 check: no overlongs, no surrogates, nothing past U+10FFFF. */
bool fl_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        unsigned c = p[i];
        size_t   len;
        uint32_t cp;
        size_t   k;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > n) {
            return false;
        }
        for (k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return false;
        }
        i += len;
    }
    return true;
}

/* True when `s` holds an ASCII control character (C0 or DEL). */
bool fl_has_control(const char *s)
{
    const unsigned char *p;

    for (p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return true;
        }
    }
    return false;
}

/* Lower-case hex SHA-256 of `n` bytes. */
void fl_sha256_hex(const void *data, size_t n, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char     md[32];
    unsigned int      len = 0;
    int               i;

    EVP_Digest(data, n, md, &len, EVP_sha256(), NULL);
    for (i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

/* HMAC-SHA256 of `n` bytes under `key`. */
void fl_hmac_sha256(const void *key, size_t klen, const void *data,
                    size_t n, unsigned char out[32])
{
    unsigned int len = 32;

    HMAC(EVP_sha256(), key, (int)klen, data, n, out, &len);
}

/* PBKDF2-HMAC-SHA256 of `secret` (RFC 8018), 32 bytes. */
void fl_pbkdf2_sha256(const char *secret, const void *salt, size_t slen,
                      int iterations, unsigned char out[32])
{
    PKCS5_PBKDF2_HMAC(secret, (int)strlen(secret), salt, (int)slen,
                      iterations, EVP_sha256(), 32, out);
}

/* Lower-case hex of `n` bytes, in the arena. */
char *fl_hex(struct fl_arena *a, const void *data, size_t n)
{
    static const char    hex[] = "0123456789abcdef";
    const unsigned char *p = data;
    char                *out = fl_alloc(a, 2 * n + 1);
    size_t               i;

    for (i = 0; i < n; i++) {
        out[2 * i] = hex[p[i] >> 4];
        out[2 * i + 1] = hex[p[i] & 15];
    }
    out[2 * n] = '\0';
    return out;
}

/* String equality in time independent of where they differ. */
bool fl_const_eq(const char *x, const char *y)
{
    size_t        nx = strlen(x), ny = strlen(y), i;
    unsigned char d = nx != ny;

    for (i = 0; i < nx && i < ny; i++) {
        d |= (unsigned char)(x[i] ^ y[i]);
    }
    return d == 0;
}

static const char b64u[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Unpadded base64url (RFC 4648 section 5) of `n` bytes, in the arena. */
char *fl_base64url(struct fl_arena *a, const void *data, size_t n)
{
    const unsigned char *p = data;
    char                *out = fl_alloc(a, n / 3 * 4 + 5);
    size_t               i;
    size_t               j = 0;

    for (i = 0; i + 2 < n; i += 3) {
        out[j++] = b64u[p[i] >> 2];
        out[j++] = b64u[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
        out[j++] = b64u[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
        out[j++] = b64u[p[i + 2] & 63];
    }
    if (n - i == 1) {
        out[j++] = b64u[p[i] >> 2];
        out[j++] = b64u[(p[i] & 3) << 4];
    } else if (n - i == 2) {
        out[j++] = b64u[p[i] >> 2];
        out[j++] = b64u[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
        out[j++] = b64u[(p[i + 1] & 15) << 2];
    }
    out[j] = '\0';
    return out;
}

/*
 * Decode unpadded base64url into an arena buffer (NUL-terminated, *n set).
 * NULL for anything else: padding, other characters, stray bits.
 */
void *fl_base64url_decode(struct fl_arena *a, const char *s, size_t *n)
{
    size_t         len = strlen(s);
    unsigned char *out;
    uint32_t       acc = 0;
    int            bits = 0;
    size_t         i;
    size_t         j = 0;

    if (len % 4 == 1) {
        return NULL;
    }
    out = fl_alloc(a, len * 3 / 4 + 1);
    for (i = 0; i < len; i++) {
        const char *c = strchr(b64u, s[i]);

        if (s[i] == '\0' || c == NULL) {
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)(c - b64u);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[j++] = (unsigned char)(acc >> bits);
        }
    }
    if ((acc & ((1u << bits) - 1)) != 0) {
        return NULL;            /* non-canonical: leftover bits set */
    }
    out[j] = '\0';
    *n = j;
    return out;
}
