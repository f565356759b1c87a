/*
 * log.c
 *
 * Logging: one JSON object per line on stderr.  Every line carries a
 * timestamp, the level and, inside a request, the request id and the action
 * the request was performing (nginx's log->action), which the server sets per
 * thread.  fl_log() tests the level before any formatting happens.
 *
 * Messages must never contain secrets; callers redact before logging.
 */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int fl_log_level = FL_LOG_INFO;

static _Thread_local const char *tl_request_id;
static _Thread_local const char *tl_action;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

const char *fl_log_level_name(int level)
{
    if (level < 0 || level > FL_LOG_DEBUG) {
        return "info";
    }
    return level_names[level];
}

bool fl_log_level_parse(const char *s, int *level)
{
    size_t i;

    for (i = 0; i < FL_ARRAY_LEN(level_names); i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *level = (int)i;
            return true;
        }
    }
    return false;
}

/*
 * Set the request id and action for log lines written by this thread.  The
 * strings are borrowed and must outlive the request; NULL clears them.
 */
void fl_log_context(const char *request_id, const char *action)
{
    tl_request_id = request_id;
    tl_action = action;
}

void fl_log_action(const char *action)
{
    tl_action = action;
}

static void timestamp(char *out, size_t n)
{
    struct timespec ts;
    struct tm       tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

/*
 * Write `fields` (an object; borrowed) as one log line, with ts, level,
 * request id and action added in front.
 */
void fl_log_json(int level, json_t *fields)
{
    char    ts[64];
    json_t *line;
    char   *s;

    if (level > fl_log_level) {
        return;
    }
    timestamp(ts, sizeof(ts));
    line = json_object();
    json_object_set_new(line, "ts", json_string(ts));
    json_object_set_new(line, "level", json_string(fl_log_level_name(level)));
    if (tl_request_id != NULL) {
        json_object_set_new(line, "rid", json_string(tl_request_id));
    }
    if (tl_action != NULL && json_object_get(fields, "action") == NULL) {
        json_object_set_new(line, "action", json_string(tl_action));
    }
    json_object_update(line, fields);
    s = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER |
                         JSON_REAL_PRECISION(6));
    if (s != NULL) {
        fprintf(stderr, "%s\n", s);
        free(s);
    }
    json_decref(line);
}

void fl_log_(int level, const char *fmt, ...)
{
    char    msg[2048];
    va_list ap;
    json_t *fields;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fields = json_object();
    /* NB: json_string() refuses invalid UTF-8; log the bytes escaped. */
    if (json_object_set_new(fields, "msg", json_string(msg)) != 0) {
        json_object_set_new(fields, "msg",
                            json_string("(message was not valid UTF-8)"));
    }
    fl_log_json(level, fields);
    json_decref(fields);
}
