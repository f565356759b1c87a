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
