/*
 * cat_metrics.c
 *
 * reportMetrics: scan and commit reports (spec: ReportMetricsRequest,
 * ScanReport, CommitReport, Metrics) are validated and stored as sent, in
 * metrics_reports, for operators and tools to query.  A retention purge
 * (server/, in the background) deletes old ones.
 */
#include "catalog/cat_table_int.h"

#include <string.h>

DB_STMT(METRICS_INSERT,
    "INSERT INTO metrics_reports (realm, catalog_id, table_id, report_type,"
    " report, received_ms) VALUES ($1, $2, $3, $4, $5::jsonb, $6)");
DB_STMT(METRICS_PURGE,
    "DELETE FROM metrics_reports WHERE id IN (SELECT id FROM metrics_reports"
    " WHERE received_ms < $1 ORDER BY received_ms LIMIT 10000)");

/* Each metric is a CounterResult {unit, value} or TimerResult. */
static bool metric_check(const char *name, json_t *m, struct fl_err *err)
{
    json_t *unit = json_object_get(m, "unit");
    json_t *value = json_object_get(m, "value");
    json_t *tu = json_object_get(m, "time-unit");

    if (json_is_string(unit) && json_is_integer(value)) {
        return true;
    }
    if (json_is_string(tu) && json_is_integer(json_object_get(m, "count")) &&
        json_is_integer(json_object_get(m, "total-duration"))) {
        return true;
    }
    return FL_ERR(err, 400, "BadRequestException",
                  "Invalid metric \"%s\": expected a counter {unit, value} "
                  "or a timer {time-unit, count, total-duration}", name);
}

static bool fields_check(json_t *r, const char *const *ints, size_t nints,
                         struct fl_err *err)
{
    size_t i;
    json_t *v;

    for (i = 0; i < nints; i++) {
        json_int_t x;

        if (!fl_json_int(r, ints[i], true, &x, err)) {
            return false;
        }
    }
    v = json_object_get(r, "metadata");
    return v == NULL || json_is_null(v) ||
           fl_json_string_map(v, "metadata", err);
}

/* Validate a report as the spec shapes it; returns its report-type. */
static const char *report_check(json_t *r, struct fl_err *err)
{
    static const char *const scan_ints[] = {"snapshot-id", "schema-id"};
    static const char *const commit_ints[] = {"snapshot-id",
                                              "sequence-number"};
    const char *type;
    const char *s;
    json_t     *m;
    json_t     *v;
    const char *k;
    size_t      i;

    if (!fl_json_str(r, "report-type", true, &type, err) ||
        !fl_json_str(r, "table-name", true, &s, err) ||
        !fl_json_obj(r, "metrics", true, &m, err)) {
        return NULL;
    }
    json_object_foreach(m, k, v) {
        if (!metric_check(k, v, err)) {
            return NULL;
        }
    }
    if (strcmp(type, "scan-report") == 0) {
        if (!fields_check(r, scan_ints, 2, err) ||
            json_object_get(r, "filter") == NULL ||
            !fl_json_arr(r, "projected-field-ids", true, &v, err) ||
            !fl_json_arr(r, "projected-field-names", true, &v, err)) {
            FL_ERR(err, 400, "BadRequestException",
                   "Invalid scan report: missing required field \"filter\"");
            return NULL;
        }
        json_array_foreach(json_object_get(r, "projected-field-ids"), i, v) {
            if (!json_is_integer(v)) {
                FL_ERR(err, 400, "BadRequestException",
                       "Invalid scan report: projected-field-ids must hold "
                       "integers");
                return NULL;
            }
        }
        return type;
    }
    if (strcmp(type, "commit-report") == 0) {
        return fields_check(r, commit_ints, 2, err) &&
               fl_json_str(r, "operation", true, &s, err) ? type : NULL;
    }
    FL_ERR(err, 400, "BadRequestException",
           "Invalid report-type \"%s\": expected scan-report or "
           "commit-report", type);
    return NULL;
}

/*
 * spec: reportMetrics.  Store `report` for table `id`.  Errors: 400 for an
 * invalid report, 404 NoSuchTableException.
 */
bool cat_metrics_report(struct cat_ctx *cx, const char *catalog,
                        const struct cat_ident *id, json_t *report,
                        struct fl_err *err)
{
    struct cat_resolved r;
    const char         *type = report_check(report, err);

    if (type == NULL) {
        return false;
    }
    if (!cat_tbl_resolve(cx, catalog, id, &r, err)) {
        return false;
    }
    if (r.table_id == NULL || strcmp(r.kind, "table") != 0) {
        return cat_tbl_missing(cx, id, err);
    }
    return db_exec(cx->conn, &METRICS_INSERT,
                   DB_ARGS(cx->realm, r.catalog_id, r.table_id, type,
                           cat_json_text(cx->a, report),
                           cat_i64(cx->a, fl_now_ms())),
                   cx->a, NULL, err);
}

/* Delete reports received before `before_ms` (10,000 at most); count. */
long cat_metrics_purge(struct cat_ctx *cx, int64_t before_ms,
                       struct fl_err *err)
{
    struct db_rows *r;

    if (cat_conn(cx, err) == NULL ||
        !db_exec(cx->conn, &METRICS_PURGE,
                 DB_ARGS(cat_i64(cx->a, before_ms)), cx->a, &r, err)) {
        return -1;
    }
    return r->affected;
}
