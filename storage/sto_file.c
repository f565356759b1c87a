/*
 * sto_file.c
 *
 * The file:// backend, Floe's embedded default: objects are regular files
 * under absolute local paths.  URIs are "file:///abs/path", the Hadoop
 * spelling "file:/abs/path" that Iceberg's Java FileIO writes, and
 * "file://localhost/abs/path".  The path is used verbatim (no percent
 * decoding), so listed URIs compare equal to the ones that were written.
 *
 * Writes go through a temporary file in the target's directory (named
 * STO_TMP_PREFIX + random hex, created with O_EXCL) that is written and
 * fsynced before it becomes visible: put renames it over the target,
 * put_if_absent links it to the target, so the target is never torn and
 * exactly one concurrent put_if_absent wins.  The directory is fsynced
 * afterwards, and so are the parents of directories a write creates.
 * Deletes are not fsynced (see storage.c) and leave empty directories.
 *
 * This file does not check schemes or inject faults; storage.c does.
 */
#include "storage/sto_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Deepest directory nesting a listing descends into. */
#define WALK_MAX_DEPTH 256

/* An object path and the names derived from it for a write. */
struct fpath {
    const char *path;                       /* inside the URI */
    char        dir[STO_PATH_MAX + 2];      /* its directory, "/" at top */
    char        tmp[STO_PATH_MAX + 64];     /* temp file; "" when none */
};

/* ------------------------------------------------------------ URI rules */

/*
 * Point `*path` at the absolute local path inside file URI `uri` and check
 * it with sto_path_check().  Sets 400 for relative paths, remote hosts and
 * anything sto_path_check() refuses.
 */
static bool file_path(const char *uri, bool object, const char **path,
                      struct fl_err *err)
{
    const char *p = uri + strlen("file:");

    if (strncmp(p, "//", 2) == 0) {
        p += 2;
        if (strncmp(p, "localhost/", 10) == 0) {
            p += strlen("localhost");
        }
    }
    if (p[0] != '/') {
        return FL_ERR(err, 400, STO_BAD_REQUEST,
                      "invalid storage location \"%s\": expected "
                      "file:///absolute/path", uri);
    }
    if (!sto_path_check(uri, p, object, err)) {
        return false;
    }
    *path = p;
    return true;
}

static bool fpath_init(struct fpath *fp, const char *uri, struct fl_err *err)
{
    size_t n;

    if (!file_path(uri, true, &fp->path, err)) {
        return false;
    }
    n = (size_t)(strrchr(fp->path, '/') - fp->path);
    if (n == 0) {
        n = 1;
    }
    memcpy(fp->dir, fp->path, n);
    fp->dir[n] = '\0';
    fp->tmp[0] = '\0';
    return true;
}

static int64_t mtime_ms(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
}

static void warn_errno(const char *what, const char *path, int e)
{
    char buf[128];

    fl_log(FL_LOG_WARN, "storage: %s \"%s\": %s", what, path,
           strerror_r(e, buf, sizeof(buf)));
}

/* -------------------------------------------------------- write helpers */

/* fsync the directory made of the first `n` bytes of `path` ("/" if 0). */
static bool dir_sync_n(const char *path, size_t n, const char *uri,
                       struct fl_err *err)
{
    char dir[STO_PATH_MAX + 2];
    int  fd;
    int  e = 0;

    if (n == 0) {
        n = 1;
    }
    memcpy(dir, path, n);
    dir[n] = '\0';
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        e = errno;
    } else {
        if (fsync(fd) != 0) {
            e = errno;
        }
        close(fd);
    }
    if (e != 0) {
        FL_ERR(err, 500, STO_INTERNAL, "could not write object \"%s\": %s",
               uri, sto_errno_reason(e));
        sto_errno_log(err, "sync directory", dir, e);
        return false;
    }
    return true;
}

/*
 * mkdir -p for the object's directory.  Each directory created here is made
 * durable by syncing its parent.  A concurrent writer creating the same
 * directories is fine (EEXIST); a non-directory in the way shows up later as
 * ENOTDIR.
 */
static bool dir_make(struct fpath *fp, const char *uri, struct fl_err *err)
{
    struct stat st;
    char       *p;
    char       *parent = fp->dir;
    char        c;
    int         e;

    if (stat(fp->dir, &st) == 0 && S_ISDIR(st.st_mode)) {
        return true;
    }
    for (p = fp->dir + 1;; p++) {
        if (*p != '/' && *p != '\0') {
            continue;
        }
        c = *p;
        *p = '\0';
        if (mkdir(fp->dir, 0777) == 0) {
            *p = c;
            if (!dir_sync_n(fp->dir, (size_t)(parent - fp->dir), uri, err)) {
                return false;
            }
        } else if (errno != EEXIST) {
            e = errno;
            FL_ERR(err, 500, STO_INTERNAL,
                   "could not write object \"%s\": %s", uri,
                   sto_errno_reason(e));
            sto_errno_log(err, "create directory", fp->dir, e);
            *p = c;
            return false;
        }
        *p = c;
        if (c == '\0') {
            return true;
        }
        parent = p;
    }
}

static int write_all(int fd, const char *p, size_t n)
{
    ssize_t r;

    while (n > 0) {
        r = write(fd, p, n);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Create fp->tmp with O_EXCL under a fresh random name; returns the fd. */
static int tmp_create(struct fpath *fp)
{
    unsigned char rnd[8];
    const char   *dir = strcmp(fp->dir, "/") == 0 ? "" : fp->dir;
    int           fd = -1;
    int           tries;

    for (tries = 0; tries < 8 && fd < 0; tries++) {
        fl_random_bytes(rnd, sizeof(rnd));
        snprintf(fp->tmp, sizeof(fp->tmp),
                 "%s/%s%02x%02x%02x%02x%02x%02x%02x%02x", dir,
                 STO_TMP_PREFIX, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
                 rnd[5], rnd[6], rnd[7]);
        fd = open(fp->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) {
            break;
        }
    }
    return fd;
}

/*
 * Write `data` to a new temporary file in the object's directory and make
 * it durable.  On success fp->tmp names it and the caller must unlink it or
 * move it; on failure nothing is left behind.
 */
static bool tmp_write(struct fpath *fp, const char *uri, const void *data,
                      size_t n, struct fl_err *err)
{
    const char *what = "write temporary file";
    int         fd;
    int         e;

    fd = tmp_create(fp);
    if (fd < 0) {
        e = errno;
        what = "create temporary file";
        goto out;
    }
    e = write_all(fd, data, n);
    if (e == 0 && fsync(fd) != 0) {
        e = errno;
    }
    if (close(fd) != 0 && e == 0) {
        e = errno;
    }
out:
    if (e != 0) {
        FL_ERR(err, 500, STO_INTERNAL, "could not write object \"%s\": %s",
               uri, sto_errno_reason(e));
        sto_errno_log(err, what, fp->tmp, e);
        if (fd >= 0) {
            unlink(fp->tmp);
        }
        fp->tmp[0] = '\0';
        return false;
    }
    return true;
}

/* ------------------------------------------------------------ operations */

/*
 * Read `fd` to EOF into a new heap block (*data; the caller frees it) of at
 * most `max` bytes.  Returns 0, EFBIG when there is more than `max`, or the
 * errno of a failed read.  `size` is where to start: the file may change
 * while we read, so only EOF is trusted.
 */
static int read_capped(int fd, size_t size, size_t max, char **data,
                       size_t *len)
{
    size_t  cap = size + 1;
    ssize_t r;

    *data = fl_xmalloc(cap);
    *len = 0;
    for (;;) {
        if (*len == cap) {
            if (cap > max) {
                return EFBIG;
            }
            cap = cap > max / 2 ? max + 1 : cap * 2;
            *data = fl_xrealloc(*data, cap);
        }
        r = read(fd, *data + *len, cap - *len);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return errno;
        }
        if (r == 0) {
            return 0;
        }
        *len += (size_t)r;
    }
}

static bool file_get(struct sto *s, struct fl_arena *a, const char *uri,
                     size_t max, struct fl_buf *out, struct fl_err *err)
{
    const char *path = NULL;
    struct stat st;
    char       *data = NULL;
    size_t      len = 0;
    int         fd = -1;
    int         e;
    bool        ok = false;

    (void)s;
    (void)a;
    if (!file_path(uri, true, &path, err)) {
        return false;
    }
    max = max > SIZE_MAX / 4 ? SIZE_MAX / 4 : max;
    /* NB: O_NONBLOCK so that a FIFO in the warehouse cannot hang us. */
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        e = errno;
        if (e == ENOENT || e == ENOTDIR) {
            FL_ERR(err, 404, STO_NOT_FOUND,
                   "could not read object \"%s\": no such file", uri);
        } else {
            FL_ERR(err, 500, STO_INTERNAL,
                   "could not read object \"%s\": %s", uri,
                   sto_errno_reason(e));
        }
        sto_errno_log(err, "open", path, e);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        FL_ERR(err, 404, STO_NOT_FOUND,
               "could not read object \"%s\": not a regular file", uri);
        goto out;
    }
    e = (uint64_t)st.st_size > max ? EFBIG
        : read_capped(fd, (size_t)st.st_size, max, &data, &len);
    if (e == EFBIG) {
        FL_ERR(err, 500, STO_INTERNAL,
               "could not read object \"%s\": larger than the limit of %zu "
               "bytes", uri, max);
        goto out;
    }
    if (e != 0 || FL_NEVER(!fl_buf_append(out, data, len))) {
        FL_ERR(err, 500, STO_INTERNAL, "could not read object \"%s\": %s",
               uri, sto_errno_reason(e));
        sto_errno_log(err, "read", path, e);
        goto out;
    }
    ok = true;
out:
    free(data);
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

static bool file_put(struct sto *s, const char *uri, const void *data,
                     size_t n, struct fl_err *err)
{
    struct fpath fp;
    int          e;

    (void)s;
    if (!fpath_init(&fp, uri, err) || !dir_make(&fp, uri, err)
        || !tmp_write(&fp, uri, data, n, err)) {
        return false;
    }
    if (rename(fp.tmp, fp.path) != 0) {
        e = errno;
        FL_ERR(err, 500, STO_INTERNAL, "could not write object \"%s\": %s",
               uri, sto_errno_reason(e));
        sto_errno_log(err, "rename temporary file to", fp.path, e);
        unlink(fp.tmp);
        return false;
    }
    return dir_sync_n(fp.dir, strlen(fp.dir), uri, err);
}

static bool file_put_if_absent(struct sto *s, const char *uri,
                               const void *data, size_t n,
                               struct fl_err *err)
{
    struct fpath fp;
    struct stat  st;
    bool         ok = false;
    int          e;

    (void)s;
    if (!fpath_init(&fp, uri, err) || !dir_make(&fp, uri, err)) {
        return false;
    }
    /* Saves writing a temp file when the answer is already known. */
    if (lstat(fp.path, &st) == 0) {
        return FL_ERR(err, 409, STO_EXISTS, "object \"%s\" already exists",
                      uri);
    }
    if (!tmp_write(&fp, uri, data, n, err)) {
        return false;
    }
    /* The atomic step: link() fails with EEXIST if anything is there. */
    if (link(fp.tmp, fp.path) != 0) {
        e = errno;
        if (e == EEXIST) {
            FL_ERR(err, 409, STO_EXISTS, "object \"%s\" already exists", uri);
        } else {
            FL_ERR(err, 500, STO_INTERNAL,
                   "could not write object \"%s\": %s", uri,
                   sto_errno_reason(e));
            sto_errno_log(err, "link temporary file to", fp.path, e);
        }
        goto out;
    }
    ok = true;
out:
    if (unlink(fp.tmp) != 0) {
        warn_errno("could not remove temporary file", fp.tmp, errno);
    }
    return ok && dir_sync_n(fp.dir, strlen(fp.dir), uri, err);
}

static bool file_delete(struct sto *s, const char *uri, bool *existed,
                        struct fl_err *err)
{
    const char *path = NULL;
    int         e;

    (void)s;
    *existed = false;
    if (!file_path(uri, true, &path, err)) {
        return false;
    }
    if (unlink(path) == 0) {
        *existed = true;
        return true;
    }
    e = errno;
    if (e == ENOENT || e == ENOTDIR) {
        return true;
    }
    FL_ERR(err, 500, STO_INTERNAL, "could not delete object \"%s\": %s", uri,
           sto_errno_reason(e));
    sto_errno_log(err, "unlink", path, e);
    return false;
}

static bool file_head(struct sto *s, const char *uri, struct sto_stat *st,
                      bool *exists, struct fl_err *err)
{
    const char *path = NULL;
    struct stat sb;
    int         e;

    (void)s;
    if (!file_path(uri, true, &path, err)) {
        return false;
    }
    if (stat(path, &sb) != 0) {
        e = errno;
        if (e == ENOENT || e == ENOTDIR) {
            return true;
        }
        FL_ERR(err, 500, STO_INTERNAL,
               "could not look up object \"%s\": %s", uri,
               sto_errno_reason(e));
        sto_errno_log(err, "stat", path, e);
        return false;
    }
    if (S_ISREG(sb.st_mode)) {
        *exists = true;
        st->size = (int64_t)sb.st_size;
        st->mtime_ms = mtime_ms(&sb);
    }
    return true;
}

/* --------------------------------------------------------------- listing */

/*
 * One listing.  uri[] holds the URI being built: the prefix's scheme and
 * authority (ulen bytes), then the local path, which `path` points at.
 */
struct walk {
    const char *prefix;         /* the URI prefix, for messages */
    const char *want;           /* its path part */
    size_t      want_len;
    sto_list_fn fn;
    void       *ctx;
    bool        stop;
    char       *path;
    char        uri[32 + STO_PATH_MAX + 1];
};

/*
 * Whether anything at or below the path of `n` bytes in w->path can match:
 * either the path already starts with the wanted prefix, or it is a
 * directory on the way to it.
 */
static bool walk_relevant(const struct walk *w, size_t n, bool is_dir)
{
    if (w->want_len <= n) {
        return memcmp(w->path, w->want, w->want_len) == 0;
    }
    return is_dir && memcmp(w->path, w->want, n) == 0 && w->want[n] == '/';
}

static bool walk_fail(struct walk *w, const char *what, int e,
                      struct fl_err *err)
{
    FL_ERR(err, 500, STO_INTERNAL, "could not list objects under \"%s\": %s",
           w->prefix, sto_errno_reason(e));
    sto_errno_log(err, what, w->path[0] != '\0' ? w->path : "/", e);
    return false;
}

static bool walk_dir(struct walk *w, size_t len, int depth,
                     struct fl_err *err);

/*
 * Visit one directory entry whose path (n bytes) is in w->path: report it
 * if it is a matching regular file, descend if it is a relevant directory.
 * Symbolic links are followed to files but never into directories, so a
 * link cycle cannot trap the walk.
 */
static bool walk_entry(struct walk *w, int dfd, const char *name, size_t n,
                       int depth, struct fl_err *err)
{
    struct stat      st;
    struct sto_entry ent;
    bool             is_link = false;

    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) {
            return true;                    /* deleted while we listed */
        }
        return walk_fail(w, "stat", errno, err);
    }
    if (S_ISLNK(st.st_mode)) {
        is_link = true;
        if (fstatat(dfd, name, &st, 0) != 0) {
            return true;                    /* a dangling link */
        }
    }
    if (S_ISDIR(st.st_mode) && !is_link && walk_relevant(w, n, true)) {
        return walk_dir(w, n, depth + 1, err);
    }
    if (S_ISREG(st.st_mode) && walk_relevant(w, n, false)) {
        ent.uri = w->uri;
        ent.size = (int64_t)st.st_size;
        ent.mtime_ms = mtime_ms(&st);
        if (!w->fn(w->ctx, &ent)) {
            w->stop = true;
        }
    }
    return true;
}

/* List the directory whose path is the first `len` bytes of w->path. */
static bool walk_dir(struct walk *w, size_t len, int depth,
                     struct fl_err *err)
{
    DIR           *d;
    struct dirent *de;
    size_t         n;
    bool           ok = true;

    w->path[len] = '\0';
    if (depth > WALK_MAX_DEPTH) {
        return walk_fail(w, "directory nesting too deep at", ELOOP, err);
    }
    d = opendir(len > 0 ? w->path : "/");
    if (d == NULL) {
        if (errno == ENOENT || errno == ENOTDIR) {
            return true;
        }
        return walk_fail(w, "open directory", errno, err);
    }
    while (ok && !w->stop) {
        errno = 0;
        de = readdir(d);
        if (de == NULL) {
            if (errno != 0) {
                w->path[len] = '\0';
                ok = walk_fail(w, "read directory", errno, err);
            }
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0
            || strncmp(de->d_name, STO_TMP_PREFIX,
                       strlen(STO_TMP_PREFIX)) == 0) {
            continue;
        }
        n = strlen(de->d_name);
        if (len + 1 + n > STO_PATH_MAX) {
            continue;                       /* not addressable anyway */
        }
        w->path[len] = '/';
        memcpy(w->path + len + 1, de->d_name, n + 1);
        if (walk_relevant(w, len + 1 + n, true)) {
            ok = walk_entry(w, dirfd(d), de->d_name, len + 1 + n, depth,
                            err);
        }
    }
    closedir(d);
    return ok;
}

static bool file_list(struct sto *s, const char *prefix, sto_list_fn fn,
                      void *ctx, struct fl_err *err)
{
    struct walk *w;
    const char  *want;
    size_t       ulen;
    size_t       start;
    bool         ok;

    (void)s;
    if (!file_path(prefix, false, &want, err)) {
        return false;
    }
    ulen = (size_t)(want - prefix);
    w = fl_xcalloc(1, sizeof(*w));
    w->prefix = prefix;
    w->want = want;
    w->want_len = strlen(want);
    w->fn = fn;
    w->ctx = ctx;
    memcpy(w->uri, prefix, ulen);
    w->path = w->uri + ulen;
    memcpy(w->path, want, w->want_len + 1);
    /* Start at the prefix's directory: "/w/t/meta" starts at "/w/t". */
    start = (size_t)(strrchr(want, '/') - want);
    ok = walk_dir(w, start, 0, err);
    free(w);
    return ok;
}

const struct sto_ops sto_file_ops = {
    .scheme = "file",
    .get = file_get,
    .put = file_put,
    .put_if_absent = file_put_if_absent,
    .del = file_delete,
    .list = file_list,
    .head = file_head,
};
