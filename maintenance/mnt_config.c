/*
 * mnt_config.c
 *
 * The effective maintenance configuration of one table, value by value:
 * the applicable Polaris policies first (system.snapshot-expiry,
 * system.orphan-file-removal, system.data-compaction,
 * system.metadata-compaction; the policy store already picked the nearest
 * of table, namespace and catalog per type), then the table's properties
 * (history.expire.*, gc.enabled, write.target-file-size-bytes), then the
 * server's defaults.  Every value remembers where it came from, so the
 * status API can say why a table keeps what it keeps.  The orphan age has
 * a floor of 24 hours that no setting lowers: files younger than that may
 * belong to a commit in flight.
 *
 * mnt_config_compute is the pure part (no database): the unit tests feed
 * it policies and properties.  Not here: what the jobs do with the values.
 */
#include "maintenance/mnt_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DAY_MS 86400000.0

const char *mnt_source_name(enum mnt_source s)
{
    switch (s) {
    case MNT_SRC_PROPERTY:
        return "property";
    case MNT_SRC_POLICY:
        return "policy";
    case MNT_SRC_FLOOR:
        return "floor";
    case MNT_SRC_DEFAULT:
        break;
    }
    return "default";
}

static void set(struct mnt_value *v, int64_t x, enum mnt_source src,
                const char *from)
{
    v->v = x;
    v->src = src;
    v->from = from;
}

/* A number, or a string holding one (policy config values may be either). */
static bool number(json_t *v, double *out)
{
    const char *s;
    char       *end;

    if (json_is_number(v)) {
        *out = json_number_value(v);
        return isfinite(*out);
    }
    s = json_string_value(v);
    if (s == NULL || s[0] == '\0') {
        return false;
    }
    *out = strtod(s, &end);
    return *end == '\0' && isfinite(*out);
}

/* `x` as an int64 in [min, INT64_MAX]; false when out of range. */
static bool to_i64(double x, int64_t min, int64_t *out)
{
    if (x < (double)min || x >= 9.2e18) {
        return false;
    }
    *out = (int64_t)x;
    return true;
}

/* Policy value `v` (a count, or days when `scale` is DAY_MS) into `dst`. */
static void from_policy(struct mnt_value *dst, json_t *v, double scale,
                        int64_t min, const char *from)
{
    double  x;
    int64_t n;

    if (v != NULL && number(v, &x) && to_i64(x * scale, min, &n)) {
        set(dst, n, MNT_SRC_POLICY, from);
    }
}

/* Table property `key` (a long) into `dst`, unless a policy set it. */
static void from_property(struct mnt_value *dst, json_t *props,
                          const char *key, int64_t min)
{
    const char *s = json_string_value(json_object_get(props, key));
    int64_t     n;

    if (dst->src != MNT_SRC_DEFAULT || s == NULL) {
        return;
    }
    if (fl_parse_i64(s, min, INT64_MAX, &n)) {
        set(dst, n, MNT_SRC_PROPERTY, key);
    }
}

/* "ns1.ns2.name": how a policy is named in `from`. */
static const char *policy_name(struct fl_arena *a, const struct cat_policy *p)
{
    struct fl_buf b;
    int           i;

    fl_buf_init(&b, a, 0);
    for (i = 0; i < p->nns; i++) {
        fl_buf_printf(&b, "%s.", p->ns[i]);
    }
    fl_buf_printf(&b, "%s", p->name);
    return b.p;
}

/* One applicable policy's content applied to `c`. */
static void apply_policy(struct fl_arena *a, const struct cat_policy *p,
                         struct mnt_config *c)
{
    json_t     *doc = p->content ? json_loads(p->content, 0, NULL) : NULL;
    json_t     *cfg;
    json_t     *en;
    const char *from;

    if (!json_is_object(doc)) {
        json_decref(doc);
        return;
    }
    fl_arena_own_json(a, doc);
    from = policy_name(a, p);
    cfg = json_object_get(doc, "config");
    en = json_object_get(doc, "enable");
    if (strcmp(p->type, "system.snapshot-expiry") == 0) {
        if (json_is_boolean(en)) {
            set(&c->expiry_enabled, json_is_true(en), MNT_SRC_POLICY, from);
        }
        from_policy(&c->min_snapshots_to_keep,
                    json_object_get(cfg, "min_snapshot_to_keep"), 1, 1, from);
        from_policy(&c->max_snapshot_age_ms,
                    json_object_get(cfg, "max_snapshot_age_days"), DAY_MS, 0,
                    from);
        from_policy(&c->max_ref_age_ms,
                    json_object_get(cfg, "max_ref_age_days"), DAY_MS, 0,
                    from);
    } else if (strcmp(p->type, "system.orphan-file-removal") == 0) {
        if (json_is_boolean(en)) {
            set(&c->orphan_enabled, json_is_true(en), MNT_SRC_POLICY, from);
        }
        from_policy(&c->orphan_age_ms,
                    json_object_get(doc, "max_orphan_file_age_in_days"),
                    DAY_MS, 0, from);
    } else if (strcmp(p->type, "system.data-compaction") == 0) {
        if (json_is_boolean(en)) {
            set(&c->compaction_enabled, json_is_true(en), MNT_SRC_POLICY,
                from);
        }
        from_policy(&c->target_file_size,
                    json_object_get(cfg, "target_file_size_bytes"), 1, 1,
                    from);
        from_policy(&c->min_input_files,
                    json_object_get(cfg, "min-input-files"), 1, 1, from);
        from_policy(&c->min_input_files,
                    json_object_get(cfg, "min_input_files"), 1, 1, from);
        from_policy(&c->delete_file_threshold,
                    json_object_get(cfg, "delete-file-threshold"), 1, 1,
                    from);
    } else if (strcmp(p->type, "system.metadata-compaction") == 0 &&
               json_is_boolean(en)) {
        set(&c->metadata_compaction_enabled, json_is_true(en),
            MNT_SRC_POLICY, from);
    }
}

static void defaults(const struct mnt_settings *ms, struct mnt_config *c)
{
    memset(c, 0, sizeof(*c));
    set(&c->gc_enabled, 1, MNT_SRC_DEFAULT, NULL);
    set(&c->expiry_enabled, 1, MNT_SRC_DEFAULT, NULL);
    set(&c->max_snapshot_age_ms, ms->max_snapshot_age_ms, MNT_SRC_DEFAULT,
        NULL);
    set(&c->min_snapshots_to_keep, ms->min_snapshots_to_keep,
        MNT_SRC_DEFAULT, NULL);
    set(&c->max_ref_age_ms, ms->max_ref_age_ms, MNT_SRC_DEFAULT, NULL);
    set(&c->orphan_enabled, 1, MNT_SRC_DEFAULT, NULL);
    set(&c->orphan_age_ms, ms->orphan_age_ms, MNT_SRC_DEFAULT, NULL);
    set(&c->compaction_enabled, 1, MNT_SRC_DEFAULT, NULL);
    set(&c->target_file_size, ms->target_file_size, MNT_SRC_DEFAULT, NULL);
    set(&c->min_input_files, ms->min_input_files, MNT_SRC_DEFAULT, NULL);
    set(&c->delete_file_threshold, ms->delete_file_threshold,
        MNT_SRC_DEFAULT, NULL);
    set(&c->metadata_compaction_enabled, 0, MNT_SRC_DEFAULT, NULL);
}

/*
 * The pure part of mnt_config_resolve: `pols` (npols of them) are the
 * table's applicable policies of any type, `props` its properties object
 * (or NULL), `ms` the server's defaults.  Strings in `out` are borrowed
 * from `pols` or static, or allocated in `a`.  Never fails: a policy or
 * property whose value does not parse is skipped.
 */
void mnt_config_compute(struct fl_arena *a, const struct cat_policy *pols,
                        int npols, json_t *props,
                        const struct mnt_settings *ms, struct mnt_config *out)
{
    const char *gc;
    int         i;

    defaults(ms, out);
    for (i = 0; i < npols; i++) {
        if (pols[i].type != NULL) {
            apply_policy(a, &pols[i], out);
        }
    }
    /* Java's PropertyUtil.propertyAsBoolean: only "true" (any case) is
     * true */
    gc = json_string_value(json_object_get(props, "gc.enabled"));
    if (gc != NULL) {
        set(&out->gc_enabled, strcasecmp(gc, "true") == 0, MNT_SRC_PROPERTY,
            "gc.enabled");
    }
    from_property(&out->max_snapshot_age_ms, props,
                  "history.expire.max-snapshot-age-ms", 0);
    from_property(&out->min_snapshots_to_keep, props,
                  "history.expire.min-snapshots-to-keep", 1);
    from_property(&out->max_ref_age_ms, props,
                  "history.expire.max-ref-age-ms", 0);
    from_property(&out->target_file_size, props,
                  "write.target-file-size-bytes", 1);
    if (out->orphan_age_ms.v < MNT_ORPHAN_FLOOR_MS) {
        out->orphan_age_ms.v = MNT_ORPHAN_FLOOR_MS;
        out->orphan_age_ms.src = MNT_SRC_FLOOR;
    }
}

/*
 * The effective configuration of table `t` (see maintenance.h): its
 * applicable policies from the policy store, then the properties of
 * `meta` (its current metadata), then `ms`.  Uses cx's connection and
 * realm.  Errors: those of the policy lookup (404 when the table is gone,
 * database failures).
 */
bool mnt_config_resolve(struct cat_ctx *cx, const struct mnt_table *t,
                        json_t *meta, const struct mnt_settings *ms,
                        struct mnt_config *out, struct fl_err *err)
{
    struct cat_policy_page page;

    if (!cat_policy_applicable(cx, t->catalog, t->ns, t->nns, t->name, NULL,
                               NULL, 0, &page, err)) {
        return false;
    }
    mnt_config_compute(cx->a, page.items, page.n,
                       json_object_get(meta, "properties"), ms, out);
    return true;
}

/* {"value", "source", "from"?}; INT64_MAX (unlimited) is null.  New. */
static json_t *value_json(const struct mnt_value *v, bool boolean)
{
    json_t *o = json_object();

    if (boolean) {
        json_object_set_new(o, "value", json_boolean(v->v != 0));
    } else if (v->v == INT64_MAX) {
        json_object_set_new(o, "value", json_null());
    } else {
        json_object_set_new(o, "value", json_integer((json_int_t)v->v));
    }
    json_object_set_new(o, "source", json_string(mnt_source_name(v->src)));
    if (v->from != NULL) {
        json_object_set_new(o, "from", json_string(v->from));
    }
    return o;
}

/*
 * The configuration as the status API shows it: per job type (the S3
 * Tables names), each value with its source.  Returns a new reference.
 */
json_t *mnt_config_json(const struct mnt_config *c)
{
    return json_pack(
        "{s:o, s:{s:o, s:o, s:o, s:o}, s:{s:o, s:o}, s:{s:o, s:o, s:o, s:o},"
        " s:{s:o}}",
        "gcEnabled", value_json(&c->gc_enabled, true),
        "icebergSnapshotManagement",
        "enabled", value_json(&c->expiry_enabled, true),
        "maxSnapshotAgeMs", value_json(&c->max_snapshot_age_ms, false),
        "minSnapshotsToKeep", value_json(&c->min_snapshots_to_keep, false),
        "maxRefAgeMs", value_json(&c->max_ref_age_ms, false),
        "icebergUnreferencedFileRemoval",
        "enabled", value_json(&c->orphan_enabled, true),
        "orphanAgeMs", value_json(&c->orphan_age_ms, false),
        "icebergCompaction",
        "enabled", value_json(&c->compaction_enabled, true),
        "targetFileSizeBytes", value_json(&c->target_file_size, false),
        "minInputFiles", value_json(&c->min_input_files, false),
        "deleteFileThreshold", value_json(&c->delete_file_threshold, false),
        "icebergMetadataCompaction",
        "enabled", value_json(&c->metadata_compaction_enabled, true));
}

/* Does `c` let job type `type` run (gc.enabled stops the deleting ones)? */
bool mnt_config_allows(const struct mnt_config *c, const char *type)
{
    if (strcmp(type, MNT_EXPIRY) == 0) {
        return c->gc_enabled.v && c->expiry_enabled.v;
    }
    if (strcmp(type, MNT_ORPHANS) == 0) {
        return c->gc_enabled.v && c->orphan_enabled.v;
    }
    if (strcmp(type, MNT_PLAN) == 0) {
        return c->compaction_enabled.v != 0;
    }
    return false;
}
