/*
 * srv_error.c
 *
 * The one place that renders an error for the wire: the Iceberg ErrorModel
 * wrapper {"error":{"message","type","code"}} (spec: IcebergErrorResponse).
 * Nothing else in Floe formats error bodies, and the operator-only `log`
 * field of struct fl_err never leaves the server log.  No stack is sent.
 */
#include "server/server.h"

#include <string.h>

/* Copy `s`, replacing bytes that are not valid UTF-8 with '?'. */
static void utf8_clean(const char *s, char *out, size_t cap)
{
    size_t n = strlen(s);
    size_t i = 0;
    size_t j = 0;

    while (i < n && j + 1 < cap) {
        size_t len = 1;

        if ((unsigned char)s[i] >= 0x80) {
            len = (unsigned char)s[i] >= 0xf0 ? 4
                : (unsigned char)s[i] >= 0xe0 ? 3 : 2;
            if (i + len > n || !fl_utf8_valid(s + i, len) || j + len >= cap) {
                out[j++] = '?';
                i++;
                continue;
            }
        }
        memcpy(out + j, s + i, len);
        i += len;
        j += len;
    }
    out[j] = '\0';
}

/*
 * The ErrorModel body for `err` as a NUL-terminated string from malloc
 * (the caller frees it).  An unset error renders as a 500.
 */
char *srv_error_body(const struct fl_err *err)
{
    char    msg[sizeof(err->msg)];
    json_t *v;
    char   *s;
    int     status = err->status ? err->status : 500;

    utf8_clean(err->status ? err->msg : "internal error", msg, sizeof(msg));
    v = json_pack("{s{ss ss si}}", "error",
                  "message", msg,
                  "type", err->type ? err->type : "InternalServerError",
                  "code", status);
    s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(v);
    return s;
}
