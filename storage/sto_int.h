/*
 * sto_int.h
 *
 * Private to storage/: the backend vtable behind struct sto and the helpers
 * that storage.c shares with the backends (URI path rules, short errno
 * reasons).  Nothing outside storage/ includes this file; callers see only
 * storage.h.
 *
 * storage.c owns everything every backend must do the same way: scheme
 * dispatch, fault injection and delete_batch's counting.  A backend sees
 * only URIs of its own scheme, and only writes that were not faulted.
 */
#ifndef FL_STO_INT_H
#define FL_STO_INT_H

#include "storage/storage.h"

/* Longest object path or key a backend accepts, in bytes. */
#define STO_PATH_MAX 4000

/*
 * Temporary files of in-flight writes in the file backend start with this
 * name.  Listings skip them and object URIs may not use it.
 */
#define STO_TMP_PREFIX ".floe-tmp-"

#define STO_BAD_REQUEST "BadRequestException"
#define STO_NOT_FOUND   "NotFoundException"
#define STO_EXISTS      "AlreadyExistsException"
#define STO_INTERNAL    "InternalServerError"

/*
 * One backend.  Every operation receives a URI whose scheme storage.c has
 * already matched against `scheme`; everything else about the URI is the
 * backend's to check.  Each function follows the contract of its sto_*
 * counterpart in storage.c, except `del`, which also reports whether an
 * object was removed (`*existed`), so that delete_batch can count.
 * Operations must be safe to call from several threads at once.
 */
struct sto_ops {
    const char *scheme;     /* "file", without the colon */
    bool (*get)(struct sto *s, struct fl_arena *a, const char *uri,
                size_t max, struct fl_buf *out, struct fl_err *err);
    bool (*put)(struct sto *s, const char *uri, const void *data, size_t n,
                struct fl_err *err);
    bool (*put_if_absent)(struct sto *s, const char *uri, const void *data,
                          size_t n, struct fl_err *err);
    bool (*del)(struct sto *s, const char *uri, bool *existed,
                struct fl_err *err);
    bool (*list)(struct sto *s, const char *prefix, sto_list_fn fn,
                 void *ctx, struct fl_err *err);
    bool (*head)(struct sto *s, const char *uri, struct sto_stat *st,
                 bool *exists, struct fl_err *err);
};

struct sto {
    const struct sto_ops *ops;
};

extern const struct sto_ops sto_file_ops;
extern const struct sto_ops sto_mem_ops;

bool sto_path_check(const char *uri, const char *path, bool object,
                    struct fl_err *err);
const char *sto_errno_reason(int e);
void sto_errno_log(struct fl_err *err, const char *what, const char *path,
                   int e);

#endif /* FL_STO_INT_H */
