/*
 * err.c
 *
 * The error value (struct fl_err) and assertions.  An error is set once,
 * where the failure is detected; later sets are ignored so the root cause
 * survives.  Rendering to the wire is server/'s job (srv_error.c), not ours.
 */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Record a failure in `err` unless one is already recorded.  `type` must be a
 * static string.  The message must be safe to show a client: never a secret,
 * a connection string or a C function name.  Always returns false, so
 * `return FL_ERR(err, ...)` reads as a failed call.
 */
bool fl_err_set_(struct fl_err *err, int status, const char *type,
                 const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || err->status != 0) {
        return false;
    }
    err->status = status;
    err->type = type;
    err->file = file;
    err->line = line;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return false;
}

/* Attach operator-only detail (SQLSTATE, errno text) to the current error. */
void fl_err_logf(struct fl_err *err, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(err->log, sizeof(err->log), fmt, ap);
    va_end(ap);
}

/*
 * Deliberately re-type an error that a lower layer set (for example a db/
 * 409 unique violation that catalog/ knows is AlreadyExistsException).
 * A NULL `fmt` keeps the message.  Always returns false.
 */
bool fl_err_retype(struct fl_err *err, int status, const char *type,
                   const char *fmt, ...)
{
    va_list ap;
    char    msg[sizeof(err->msg)];

    if (err == NULL) {
        return false;
    }
    err->status = status;
    err->type = type;
    if (fmt != NULL) {
        /* NB: through a copy: the arguments may be err->msg itself */
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        memcpy(err->msg, msg, sizeof(msg));
    }
    return false;
}

void fl_err_clear(struct fl_err *err)
{
    memset(err, 0, sizeof(*err));
}

void fl_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "floe: assertion failed: %s (%s:%d)\n", expr, file, line);
    fflush(stderr);
    abort();
}
