/*
 * mkmanifest.c
 *
 * Test tooling: writes Iceberg manifests and manifest lists (Avro object
 * container files with field ids and the spec's key-value metadata) for the
 * integration tests, which need real files behind the snapshots they
 * commit.  The writing is in avro_write.c.
 *
 *   mkmanifest manifest OUT.avro --format-version N --snapshot-id ID
 *       [--spec-id 0] [--content data|deletes]
 *       [--codec null|deflate|snappy]
 *       [--partition-field NAME:FIELD_ID:SOURCE_ID:TRANSFORM:TYPE]...
 *       [--schema TABLE_SCHEMA_JSON] [--entries ENTRIES.json]
 *       FILE_PATH:RECORDS:SIZE...
 *   mkmanifest list OUT.avro --format-version N --snapshot-id ID
 *       [--parent-id P] --sequence-number S [--first-row-id R]
 *       [--content data|deletes] [--codec null|deflate|snappy]
 *       [--deletes-manifest MANIFEST_PATH:LENGTH:SPEC_ID:FILES:ROWS]...
 *       MANIFEST_PATH:LENGTH:SPEC_ID:ADDED_FILES:ADDED_ROWS...
 *
 * A manifest gets one ADDED entry per data file, with the snapshot id set
 * and the sequence numbers null (inherited), as a committing writer leaves
 * them.  A list gets one manifest_file per manifest, added by the snapshot
 * with sequence and minimum sequence number S and no existing or deleted
 * files; --content applies to every manifest, --deletes-manifest adds one
 * of delete files to a list of data manifests.  Paths may contain colons:
 * the numbers are taken from the right.
 * --sequence-number is required from format version 2 on.
 *
 * Partitioned manifests: one --partition-field per spec field, in order
 * (TYPE is the field's Iceberg result type: "category:1000:2:identity:
 * string", "day:1001:3:day:date"); without --schema the table schema has
 * column 1 "id" and each source column as "c<id>".  --entries names a JSON
 * array of entries, written before the positional ones:
 *   {"path", "records", "size", "status" (1), "snapshot-id" (--snapshot-id),
 *    "sequence-number" (null), "content" (--content as 0/1, or 2),
 *    "partition": [value per field, null for null; texts as
 *    avw_manifest_write reads them, numbers as numbers],
 *    "referenced-data-file", "stats": [{"id", "size", "values", "nulls",
 *    "nans", "lower" (hex), "upper" (hex)}]}
 * Exit status 0 on success, 2 on bad usage, 1 when writing failed.
 */
#include "avro_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 64

struct opts {
    const char *mode;
    const char *out;
    int64_t     format_version;
    int64_t     snapshot_id;
    int64_t     parent_id;
    int64_t     sequence_number;
    int64_t     first_row_id;
    int64_t     spec_id;
    int32_t     content;
    const char *codec;
    char      **specs;          /* the positional FILE/MANIFEST specs */
    bool       *deletes;        /* per spec: a --deletes-manifest */
    size_t      nspecs;
    struct avw_part_field fields[MAX_FIELDS];
    size_t      nfields;
    const char *schema;
    const char *entries;        /* --entries file */
};

static int usage(const char *why)
{
    fprintf(stderr,
            "mkmanifest: %s\n"
            "usage: mkmanifest manifest OUT.avro --format-version N "
            "--snapshot-id ID [--spec-id N]\n"
            "           [--content data|deletes] "
            "[--codec null|deflate|snappy]\n"
            "           [--partition-field NAME:FIELD_ID:SOURCE_ID:"
            "TRANSFORM:TYPE]...\n"
            "           [--schema JSON] [--entries FILE.json] "
            "FILE_PATH:RECORDS:SIZE...\n"
            "       mkmanifest list OUT.avro --format-version N "
            "--snapshot-id ID [--parent-id P]\n"
            "           --sequence-number S [--first-row-id R] "
            "[--content data|deletes]\n"
            "           [--codec null|deflate|snappy] "
            "MANIFEST_PATH:LENGTH:SPEC_ID:ADDED_FILES:ADDED_ROWS...\n",
            why);
    return 2;
}

/* Split "path:n1:...:nk" from the right; `path` is cut in place. */
static bool spec_split(char *s, int64_t *nums, size_t k)
{
    char  *colon;
    size_t i;

    for (i = k; i > 0; i--) {
        colon = strrchr(s, ':');
        if (colon == NULL || colon == s ||
            !fl_parse_i64(colon + 1, INT64_MIN, INT64_MAX, &nums[i - 1])) {
            return false;
        }
        *colon = '\0';
    }
    return true;
}

static bool opt_num(const char *v, int64_t min, int64_t max, int64_t *out)
{
    return v != NULL && fl_parse_i64(v, min, max, out);
}

/* NAME:FIELD_ID:SOURCE_ID:TRANSFORM:TYPE (split in place; TYPE may hold
 * commas, as decimal(9,2)). */
static bool opt_field(struct opts *o, char *v)
{
    struct avw_part_field *f = &o->fields[o->nfields];
    char                  *part[5];
    int64_t                n[2];
    int                    i;

    if (v == NULL || o->nfields == MAX_FIELDS) {
        return false;
    }
    for (i = 0; i < 4; i++) {
        part[i] = v;
        v = strchr(v, ':');
        if (v == NULL) {
            return false;
        }
        *v++ = '\0';
    }
    part[4] = v;
    if (part[0][0] == '\0' || part[3][0] == '\0' || part[4][0] == '\0' ||
        !fl_parse_i64(part[1], 0, INT32_MAX, &n[0]) ||
        !fl_parse_i64(part[2], 0, INT32_MAX, &n[1])) {
        return false;
    }
    f->name = part[0];
    f->field_id = (int32_t)n[0];
    f->source_id = (int32_t)n[1];
    f->transform = part[3];
    f->type = part[4];
    o->nfields++;
    return true;
}

/* One "--name value" pair; false for an unknown name or a bad value. */
static bool opt_set(struct opts *o, const char *name, const char *v)
{
    if (strcmp(name, "--format-version") == 0) {
        return opt_num(v, 1, 3, &o->format_version);
    }
    if (strcmp(name, "--snapshot-id") == 0) {
        return opt_num(v, 0, INT64_MAX, &o->snapshot_id);
    }
    if (strcmp(name, "--parent-id") == 0) {
        return opt_num(v, 0, INT64_MAX, &o->parent_id);
    }
    if (strcmp(name, "--sequence-number") == 0) {
        return opt_num(v, 0, INT64_MAX, &o->sequence_number);
    }
    if (strcmp(name, "--first-row-id") == 0) {
        return opt_num(v, 0, INT64_MAX, &o->first_row_id);
    }
    if (strcmp(name, "--spec-id") == 0) {
        return opt_num(v, 0, INT32_MAX, &o->spec_id);
    }
    if (strcmp(name, "--content") == 0 && v != NULL) {
        o->content = strcmp(v, "deletes") == 0;
        return strcmp(v, "data") == 0 || o->content;
    }
    if (strcmp(name, "--codec") == 0 && v != NULL) {
        o->codec = v;
        return strcmp(v, "null") == 0 || strcmp(v, "deflate") == 0 ||
               strcmp(v, "snappy") == 0;
    }
    if (strcmp(name, "--schema") == 0 && v != NULL) {
        o->schema = v;
        return true;
    }
    if (strcmp(name, "--entries") == 0 && v != NULL) {
        o->entries = v;
        return true;
    }
    return false;
}

static int opts_parse(struct opts *o, int argc, char **argv)
{
    int i;

    memset(o, 0, sizeof(*o));
    o->format_version = o->snapshot_id = o->parent_id = -1;
    o->sequence_number = -1;
    if (argc < 3) {
        return usage("missing arguments");
    }
    o->mode = argv[1];
    o->out = argv[2];
    o->specs = fl_xcalloc((size_t)argc, sizeof(*o->specs));
    o->deletes = fl_xcalloc((size_t)argc, sizeof(*o->deletes));
    for (i = 3; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0) {
            o->specs[o->nspecs++] = argv[i];
        } else if (strcmp(argv[i], "--deletes-manifest") == 0 &&
                   i + 1 < argc) {
            o->deletes[o->nspecs] = true;
            o->specs[o->nspecs++] = argv[++i];
        } else if (strcmp(argv[i], "--partition-field") == 0
                       ? !opt_field(o, i + 1 < argc ? argv[i + 1] : NULL)
                       : !opt_set(o, argv[i],
                                  i + 1 < argc ? argv[i + 1] : NULL)) {
            fprintf(stderr, "mkmanifest: bad option or value: %s %s\n",
                    argv[i], i + 1 < argc ? argv[i + 1] : "");
            return 2;
        } else {
            i++;
        }
    }
    if (o->format_version < 0 || o->snapshot_id < 0) {
        return usage("--format-version and --snapshot-id are required");
    }
    if (o->content && o->format_version < 2) {
        return usage("delete files need format version 2 or later");
    }
    return 0;
}

/* A JSON value as the text avw_manifest_write reads (arena), NULL: null. */
static const char *value_text(struct fl_arena *a, json_t *v)
{
    if (json_is_string(v)) {
        return json_string_value(v);
    }
    if (json_is_integer(v)) {
        return fl_sprintf(a, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    }
    if (json_is_real(v)) {
        return fl_sprintf(a, "%.17g", json_real_value(v));
    }
    if (json_is_boolean(v)) {
        return json_is_true(v) ? "true" : "false";
    }
    return NULL;
}

/* Hex text into arena bytes; NULL when not hex. */
static const void *hex_of(struct fl_arena *a, const char *s, size_t *n)
{
    size_t         len = strlen(s);
    unsigned char *b = fl_alloc(a, len / 2 + 1);
    size_t         i;
    unsigned int   x;

    if (len % 2 != 0) {
        return NULL;
    }
    for (i = 0; i < len / 2; i++) {
        if (sscanf(s + 2 * i, "%2x", &x) != 1) {
            return NULL;
        }
        b[i] = (unsigned char)x;
    }
    *n = len / 2;
    return b;
}

static int64_t num_or(json_t *obj, const char *key, int64_t dflt)
{
    json_t *v = json_object_get(obj, key);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

/* The "stats" array of an entry into `d`. */
static bool entry_stats(struct fl_arena *a, json_t *arr,
                        struct avw_data_file *d)
{
    struct avw_stats *st;
    json_t           *c;
    const char       *h;
    size_t            i;

    d->nstats = json_array_size(arr);
    st = fl_alloc(a, (d->nstats + 1) * sizeof(*st));
    d->stats = st;
    json_array_foreach(arr, i, c) {
        st[i].field_id = (int32_t)num_or(c, "id", 0);
        st[i].column_size = num_or(c, "size", -1);
        st[i].value_count = num_or(c, "values", -1);
        st[i].null_count = num_or(c, "nulls", -1);
        st[i].nan_count = num_or(c, "nans", -1);
        h = json_string_value(json_object_get(c, "lower"));
        if (h != NULL &&
            (st[i].lower = hex_of(a, h, &st[i].lower_len)) == NULL) {
            return false;
        }
        h = json_string_value(json_object_get(c, "upper"));
        if (h != NULL &&
            (st[i].upper = hex_of(a, h, &st[i].upper_len)) == NULL) {
            return false;
        }
    }
    return true;
}

/* One object of --entries into `d`. */
static bool entry_parse(struct fl_arena *a, const struct opts *o, json_t *e,
                        struct avw_data_file *d)
{
    json_t       *part = json_object_get(e, "partition");
    const char  **texts;
    size_t        i;

    d->path = json_string_value(json_object_get(e, "path"));
    d->records = num_or(e, "records", -1);
    d->size = num_or(e, "size", -1);
    d->status = (int32_t)num_or(e, "status", 1);
    d->snapshot_id = num_or(e, "snapshot-id", o->snapshot_id);
    d->sequence_number = num_or(e, "sequence-number", -1);
    d->file_sequence_number = d->sequence_number;
    d->content = (int32_t)num_or(e, "content", o->content);
    d->referenced_data_file = json_string_value(
        json_object_get(e, "referenced-data-file"));
    if (d->path == NULL || d->records < 0 || d->size < 0 ||
        (part != NULL && json_array_size(part) != o->nfields)) {
        return false;
    }
    texts = fl_alloc(a, (o->nfields + 1) * sizeof(*texts));
    for (i = 0; i < o->nfields; i++) {
        texts[i] = value_text(a, json_array_get(part, i));
    }
    d->partition = texts;
    return entry_stats(a, json_object_get(e, "stats"), d);
}

/* The entries of the --entries file, then room for `extra` more. */
static struct avw_data_file *entries_load(struct fl_arena *a,
                                          const struct opts *o,
                                          size_t extra, size_t *n)
{
    json_error_t          je;
    json_t               *arr;
    json_t               *e;
    struct avw_data_file *files;
    size_t                i;

    *n = 0;
    if (o->entries == NULL) {
        return fl_alloc(a, (extra + 1) * sizeof(*files));
    }
    arr = json_load_file(o->entries, 0, &je);
    if (!json_is_array(arr)) {
        fprintf(stderr, "mkmanifest: %s: %s\n", o->entries, je.text);
        json_decref(arr);
        return NULL;
    }
    fl_arena_own_json(a, arr);
    files = fl_alloc(a, (json_array_size(arr) + extra + 1) * sizeof(*files));
    json_array_foreach(arr, i, e) {
        if (!entry_parse(a, o, e, &files[i])) {
            fprintf(stderr, "mkmanifest: %s: entry %zu is not valid\n",
                    o->entries, i);
            return NULL;
        }
    }
    *n = json_array_size(arr);
    return files;
}

static int write_manifest(const struct opts *o)
{
    struct avw_manifest   m = {0};
    struct fl_arena      *a = fl_arena_new(0);
    struct avw_data_file *files;
    struct avw_data_file *f;
    struct fl_err         err = {0};
    int64_t               nums[2];
    size_t                i;
    size_t                n;
    int                   rc = 1;

    m.format_version = (int)o->format_version;
    m.spec_id = (int32_t)(o->spec_id < 0 ? 0 : o->spec_id);
    m.content = o->content;
    m.codec = o->codec;
    m.fields = o->fields;
    m.nfields = o->nfields;
    m.schema_json = o->schema;
    files = entries_load(a, o, o->nspecs, &n);
    if (files == NULL) {
        rc = 2;
        goto out;
    }
    for (i = 0; i < o->nspecs; i++) {
        f = &files[n + i];
        if (!spec_split(o->specs[i], nums, 2) || nums[0] < 0 || nums[1] < 0) {
            rc = usage("data files are FILE_PATH:RECORDS:SIZE");
            goto out;
        }
        f->status = 1;
        f->snapshot_id = o->snapshot_id;
        f->sequence_number = -1;
        f->file_sequence_number = -1;
        f->content = o->content;
        f->path = o->specs[i];
        f->records = nums[0];
        f->size = nums[1];
    }
    if (!avw_manifest_write(o->out, &m, files, n + o->nspecs, &err)) {
        fprintf(stderr, "mkmanifest: %s\n", err.msg);
        goto out;
    }
    rc = 0;
out:
    fl_arena_free(a);
    return rc;
}

static bool list_entry(char *spec, const struct opts *o, bool deletes,
                       struct avw_manifest_file *f)
{
    int64_t n[4];

    if (!spec_split(spec, n, 4) || n[0] < 0 || n[1] < 0 || n[1] > INT32_MAX ||
        n[2] < 0 || n[2] > INT32_MAX || n[3] < 0) {
        return false;
    }
    f->path = spec;
    f->length = n[0];
    f->spec_id = (int32_t)n[1];
    f->content = deletes ? 1 : o->content;
    f->sequence_number = o->sequence_number;
    f->min_sequence_number = o->sequence_number;
    f->added_snapshot_id = o->snapshot_id;
    f->added_files = (int32_t)n[2];
    f->added_rows = n[3];
    f->first_row_id = -1;
    return true;
}

static int write_list(const struct opts *o)
{
    struct avw_list           l = {0};
    struct avw_manifest_file *files = fl_xcalloc(o->nspecs + 1,
                                                 sizeof(*files));
    struct fl_err             err = {0};
    int64_t                   row_id = o->first_row_id < 0 ? 0
                                                           : o->first_row_id;
    size_t                    i;
    int                       rc = 1;

    if (o->format_version >= 2 && o->sequence_number < 0) {
        rc = usage("--sequence-number is required from format version 2");
        goto out;
    }
    l.format_version = (int)o->format_version;
    l.snapshot_id = o->snapshot_id;
    l.parent_id = o->parent_id;
    l.sequence_number = o->sequence_number;
    l.first_row_id = row_id;
    l.codec = o->codec;
    for (i = 0; i < o->nspecs; i++) {
        if (!list_entry(o->specs[i], o, o->deletes[i], &files[i])) {
            rc = usage("manifests are "
                       "MANIFEST_PATH:LENGTH:SPEC_ID:ADDED_FILES:ADDED_ROWS");
            goto out;
        }
        /* v3 row lineage: data manifests take consecutive row id ranges */
        if (o->format_version >= 3 && files[i].content == 0) {
            files[i].first_row_id = row_id;
            row_id += files[i].added_rows;
        }
    }
    if (!avw_list_write(o->out, &l, files, o->nspecs, &err)) {
        fprintf(stderr, "mkmanifest: %s\n", err.msg);
        goto out;
    }
    rc = 0;
out:
    free(files);
    return rc;
}

int main(int argc, char **argv)
{
    struct opts o;
    int         rc = opts_parse(&o, argc, argv);

    if (rc == 0 && strcmp(o.mode, "manifest") == 0) {
        rc = write_manifest(&o);
    } else if (rc == 0 && strcmp(o.mode, "list") == 0) {
        rc = write_list(&o);
    } else if (rc == 0) {
        rc = usage("the mode is manifest or list");
    }
    free(o.specs);
    free(o.deletes);
    return rc;
}
