/*
 * core.h
 *
 * The public interface of core/: the vocabulary every other folder shares.
 * A per-request arena, the error value that is set once where a failure is
 * detected and rendered once by server/, level-checked JSON logging, growable
 * capped buffers, small JSON accessors, time and UUID helpers.
 *
 * core/ depends on libc, jansson and OpenSSL's random generator only.
 */
#ifndef FL_CORE_H
#define FL_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define FL_VERSION "0.1.0"

#if defined(__GNUC__)
#define FL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define FL_NORETURN     __attribute__((noreturn))
#else
#define FL_PRINTF(f, a)
#define FL_NORETURN
#endif

#define FL_ARRAY_LEN(x) (sizeof(x) / sizeof((x)[0]))

/* ---------------------------------------------------------------- errors */

/*
 * One failure, described for the client (status, type, msg) and for the
 * operator (log).  Set once where it is detected: the first FL_ERR wins so the
 * root cause survives callers that add their own.
 */
struct fl_err {
    int         status;     /* HTTP status; 0 while unset                   */
    const char *type;       /* Iceberg ErrorModel.type, static string       */
    char        msg[256];   /* ErrorModel.message; safe for the client      */
    char        log[512];   /* log only: SQLSTATE, libpq text, errno text   */
    const char *file;
    int         line;
};

#define FL_ERR(e, st, ty, ...) \
    fl_err_set_((e), (st), (ty), __FILE__, __LINE__, __VA_ARGS__)

bool fl_err_set_(struct fl_err *err, int status, const char *type,
                 const char *file, int line, const char *fmt, ...)
    FL_PRINTF(6, 7);
void fl_err_logf(struct fl_err *err, const char *fmt, ...) FL_PRINTF(2, 3);
bool fl_err_retype(struct fl_err *err, int status, const char *type,
                   const char *fmt, ...) FL_PRINTF(4, 5);
void fl_err_clear(struct fl_err *err);
static inline bool fl_err_isset(const struct fl_err *err)
{
    return err->status != 0;
}

FL_NORETURN void fl_assert_fail(const char *expr, const char *file, int line);
#define fl_assert(x) \
    ((x) ? (void)0 : fl_assert_fail(#x, __FILE__, __LINE__))
#ifdef FL_DEBUG
#define FL_ALWAYS(x) ((x) ? 1 : (fl_assert_fail(#x, __FILE__, __LINE__), 0))
#define FL_NEVER(x)  ((x) ? (fl_assert_fail(#x, __FILE__, __LINE__), 1) : 0)
#else
#define FL_ALWAYS(x) (x)
#define FL_NEVER(x)  (x)
#endif

/* ---------------------------------------------------------------- memory */

void *fl_xmalloc(size_t n);
void *fl_xcalloc(size_t n, size_t size);
void *fl_xrealloc(void *p, size_t n);
char *fl_xstrdup(const char *s);

struct fl_arena;

struct fl_arena *fl_arena_new(size_t chunk);
void  *fl_alloc(struct fl_arena *a, size_t n);
char  *fl_strdup(struct fl_arena *a, const char *s);
char  *fl_strndup(struct fl_arena *a, const char *s, size_t n);
char  *fl_sprintf(struct fl_arena *a, const char *fmt, ...) FL_PRINTF(2, 3);
char  *fl_vsprintf(struct fl_arena *a, const char *fmt, va_list ap)
    FL_PRINTF(2, 0);
void   fl_arena_defer(struct fl_arena *a, void (*fn)(void *), void *arg);
json_t *fl_arena_own_json(struct fl_arena *a, json_t *v);
size_t fl_arena_used(const struct fl_arena *a);
void   fl_arena_free(struct fl_arena *a);

/* --------------------------------------------------------------- buffers */

/*
 * A growable byte buffer with a hard cap (curl's dynbuf): appending past
 * `max` fails instead of growing, so client- and store-fed data is bounded.
 * Memory comes from the arena when one is given, else from the heap.
 */
struct fl_buf {
    char            *p;
    size_t           len;
    size_t           cap;
    size_t           max;
    struct fl_arena *a;
};

void fl_buf_init(struct fl_buf *b, struct fl_arena *a, size_t max);
bool fl_buf_append(struct fl_buf *b, const void *data, size_t n);
bool fl_buf_printf(struct fl_buf *b, const char *fmt, ...) FL_PRINTF(2, 3);
void fl_buf_release(struct fl_buf *b);

/* --------------------------------------------------------------- logging */

enum fl_log_level {
    FL_LOG_ERROR = 0,
    FL_LOG_WARN  = 1,
    FL_LOG_INFO  = 2,
    FL_LOG_DEBUG = 3
};

extern int fl_log_level;

void fl_log_(int level, const char *fmt, ...) FL_PRINTF(2, 3);
#define fl_log(level, ...)                  \
    do {                                    \
        if ((level) <= fl_log_level) {      \
            fl_log_((level), __VA_ARGS__);  \
        }                                   \
    } while (0)
void fl_log_json(int level, json_t *fields);
bool fl_log_level_parse(const char *s, int *level);
const char *fl_log_level_name(int level);
void fl_log_context(const char *request_id, const char *action);
void fl_log_action(const char *action);

/* ------------------------------------------------------------------ JSON */

void fl_json_init(void);
bool fl_json_str(json_t *obj, const char *key, bool required,
                 const char **out, struct fl_err *err);
bool fl_json_obj(json_t *obj, const char *key, bool required,
                 json_t **out, struct fl_err *err);
bool fl_json_arr(json_t *obj, const char *key, bool required,
                 json_t **out, struct fl_err *err);
bool fl_json_int(json_t *obj, const char *key, bool required,
                 json_int_t *out, struct fl_err *err);
bool fl_json_bool(json_t *obj, const char *key, bool required,
                  bool *out, struct fl_err *err);
bool fl_json_string_map(json_t *v, const char *what, struct fl_err *err);

/* ------------------------------------------------------------ text & ids */

int64_t fl_now_ms(void);
int64_t fl_mono_us(void);
void    fl_random_bytes(void *buf, size_t n);
void    fl_uuid_v4(char out[37]);
void    fl_uuid_v7(char out[37]);
bool    fl_uuid_valid(const char *s);
bool    fl_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
bool    fl_utf8_valid(const char *s, size_t n);
void    fl_sha256_hex(const void *data, size_t n, char out[65]);
void    fl_hmac_sha256(const void *key, size_t klen, const void *data,
                       size_t n, unsigned char out[32]);
void    fl_pbkdf2_sha256(const char *secret, const void *salt, size_t slen,
                         int iterations, unsigned char out[32]);
char   *fl_hex(struct fl_arena *a, const void *data, size_t n);
bool    fl_const_eq(const char *x, const char *y);
char   *fl_base64url(struct fl_arena *a, const void *data, size_t n);
void   *fl_base64url_decode(struct fl_arena *a, const char *s, size_t *n);
bool    fl_has_control(const char *s);

#endif /* FL_CORE_H */
