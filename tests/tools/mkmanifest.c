/*
 * mkmanifest.c
 *
 * Test tooling: writes Iceberg manifests and manifest lists (Avro object
 * container files with field ids and the spec's key-value metadata) for the
 * integration tests, which need real files behind the snapshots they
 * commit.  Unpartitioned specs only.  The writing is in avro_write.c.
 *
 *   mkmanifest manifest OUT.avro --format-version N --snapshot-id ID
 *       [--spec-id 0] [--content data|deletes] [--codec null|deflate]
 *       FILE_PATH:RECORDS:SIZE...
 *   mkmanifest list OUT.avro --format-version N --snapshot-id ID
 *       [--parent-id P] --sequence-number S [--first-row-id R]
 *       [--content data|deletes] [--codec null|deflate]
 *       MANIFEST_PATH:LENGTH:SPEC_ID:ADDED_FILES:ADDED_ROWS...
 *
 * A manifest gets one ADDED entry per data file, with the snapshot id set
 * and the sequence numbers null (inherited), as a committing writer leaves
 * them.  A list gets one manifest_file per manifest, added by the snapshot
 * with sequence and minimum sequence number S and no existing or deleted
 * files.  Paths may contain colons: the numbers are taken from the right.
 * --sequence-number is required from format version 2 on.  Exit status 0 on
 * success, 2 on bad usage, 1 when writing failed.
 */
#include "avro_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    size_t      nspecs;
};

static int usage(const char *why)
{
    fprintf(stderr,
            "mkmanifest: %s\n"
            "usage: mkmanifest manifest OUT.avro --format-version N "
            "--snapshot-id ID [--spec-id N]\n"
            "           [--content data|deletes] [--codec null|deflate] "
            "FILE_PATH:RECORDS:SIZE...\n"
            "       mkmanifest list OUT.avro --format-version N "
            "--snapshot-id ID [--parent-id P]\n"
            "           --sequence-number S [--first-row-id R] "
            "[--content data|deletes]\n"
            "           [--codec null|deflate] "
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
        return strcmp(v, "null") == 0 || strcmp(v, "deflate") == 0;
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
    for (i = 3; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0) {
            o->specs[o->nspecs++] = argv[i];
        } else if (!opt_set(o, argv[i], i + 1 < argc ? argv[i + 1] : NULL)) {
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

static int write_manifest(const struct opts *o)
{
    struct avw_manifest   m = {0};
    struct avw_data_file *files = fl_xcalloc(o->nspecs + 1, sizeof(*files));
    struct fl_err         err = {0};
    int64_t               nums[2];
    size_t                i;
    int                   rc = 1;

    m.format_version = (int)o->format_version;
    m.spec_id = (int32_t)(o->spec_id < 0 ? 0 : o->spec_id);
    m.content = o->content;
    m.codec = o->codec;
    for (i = 0; i < o->nspecs; i++) {
        if (!spec_split(o->specs[i], nums, 2) || nums[0] < 0 || nums[1] < 0) {
            rc = usage("data files are FILE_PATH:RECORDS:SIZE");
            goto out;
        }
        files[i].status = 1;
        files[i].snapshot_id = o->snapshot_id;
        files[i].sequence_number = -1;
        files[i].file_sequence_number = -1;
        files[i].content = o->content;
        files[i].path = o->specs[i];
        files[i].records = nums[0];
        files[i].size = nums[1];
    }
    if (!avw_manifest_write(o->out, &m, files, o->nspecs, &err)) {
        fprintf(stderr, "mkmanifest: %s\n", err.msg);
        goto out;
    }
    rc = 0;
out:
    free(files);
    return rc;
}

static bool list_entry(char *spec, const struct opts *o,
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
    f->content = o->content;
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
        if (!list_entry(o->specs[i], o, &files[i])) {
            rc = usage("manifests are "
                       "MANIFEST_PATH:LENGTH:SPEC_ID:ADDED_FILES:ADDED_ROWS");
            goto out;
        }
        /* v3 row lineage: data manifests take consecutive row id ranges */
        if (o->format_version >= 3 && !o->content) {
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
    return rc;
}
