/*
 * t.h
 *
 * A tiny test harness for the unit tests (tests/unit/test_*.c).  Each test is
 * a `static void test_name(void)`; T_MAIN runs them in order and prints one
 * TAP-like line per test ("ok name" / "not ok name - file:line: expr"), which
 * tests/run.sh counts.  A failed check stops only the current test.
 */
#ifndef FL_T_H
#define FL_T_H

#include <setjmp.h>
#include <stdio.h>
#include <string.h>

static jmp_buf     t_jmp;
static const char *t_failed_at;
static int         t_failed_line;
static const char *t_failed_expr;

#define T_CHECK(x)                          \
    do {                                    \
        if (!(x)) {                         \
            t_failed_at = __FILE__;         \
            t_failed_line = __LINE__;       \
            t_failed_expr = #x;             \
            longjmp(t_jmp, 1);              \
        }                                   \
    } while (0)

#define T_STREQ(a, b)                                               \
    do {                                                            \
        const char *t_a_ = (a);                                     \
        const char *t_b_ = (b);                                     \
        if (t_a_ == NULL || t_b_ == NULL || strcmp(t_a_, t_b_) != 0) { \
            fprintf(stderr, "  got \"%s\", want \"%s\"\n",          \
                    t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)"); \
            T_CHECK(!"strings differ: " #a " vs " #b);              \
        }                                                           \
    } while (0)

/* Skip the current test, saying why (for example a missing spec file). */
static const char *t_skip_reason;
#define T_SKIP(why)                         \
    do {                                    \
        t_skip_reason = (why);              \
        longjmp(t_jmp, 2);                  \
    } while (0)

struct t_case {
    const char *name;
    void      (*fn)(void);
};

static int t_run(const char *file, const struct t_case *cases, size_t n)
{
    volatile size_t i;      /* NB: volatile, as setjmp may clobber them */
    volatile int    failed = 0;

    for (i = 0; i < n; i++) {
        switch (setjmp(t_jmp)) {
        case 0:
            cases[i].fn();
            printf("ok %s %s\n", file, cases[i].name);
            break;
        case 2:
            printf("skip %s %s (%s)\n", file, cases[i].name,
                   t_skip_reason ? t_skip_reason : "no reason");
            break;
        default:
            printf("not ok %s %s - %s:%d: %s\n", file, cases[i].name,
                   t_failed_at, t_failed_line, t_failed_expr);
            failed++;
            break;
        }
        fflush(stdout);
    }
    return failed ? 1 : 0;
}

#define T(fn) {#fn, fn}
#define T_MAIN(...)                                                    \
    int main(void)                                                     \
    {                                                                  \
        static const struct t_case cases[] = {__VA_ARGS__};            \
        return t_run(__FILE__, cases, sizeof(cases) / sizeof(cases[0])); \
    }

#endif /* FL_T_H */
