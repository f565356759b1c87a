/*
 * srv_audit.c
 *
 * GET /api/management/v1/audit-events (Floe): the realm's audit log,
 * newest first, paginated with pageToken / pageSize.  Every denied request
 * and every mutation is there (srv_http.c records them).  Service admins
 * only: SERVICE_MANAGE_ACCESS on the root container.
 */
#include "server/srv_int.h"

#include <string.h>

SRV_AZ(listAuditEvents)
{
    struct acc_target t;
    int               priv = ACC_SERVICE_MANAGE_ACCESS;

    memset(&t, 0, sizeof(t));
    t.rooted = true;
    return srv_az_require(req, &t, &priv, 1, NULL, err);
}

json_t *srv_h_audit_list(struct srv_req *req, struct fl_err *err)
{
    const char *token = srv_req_query(req, "pageToken", err);
    const char *next;
    json_t     *events;
    int         size;

    if (fl_err_isset(err) || !srv_page_size(req, &size, err) ||
        !acc_audit_page(&req->cx, token, size, &events, &next, err)) {
        return NULL;
    }
    return json_pack("{so ss?}", "events", events, "next-page-token", next);
}
