/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_dbuf.c -- the one growable buffer (src/common/dbuf.c): its size limit holds at every
 * boundary and an answer past it is refused, a refused append sticks (a caller that builds a
 * whole text and checks once never sends a truncated one), the text stays NUL-terminated across
 * growth, and locked buffers work like the others.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dbuf.h"

/*
 * test_limit --
 *     max bytes fit, one more does not, whatever the sizes of the appends.
 */
static void
test_limit(void **state)
{
    char chunk[700];
    wtkms_dbuf b;
    size_t max, step;
    int locked;

    (void)state;
    memset(chunk, 'x', sizeof(chunk));
    for (locked = 0; locked < 2; locked++)
        for (max = 1; max < 2000; max += 97)
            for (step = 1; step <= sizeof(chunk); step = step * 3 + 1) {
                memset(&b, 0, sizeof(b));
                b.max = max;
                b.locked = locked != 0;
                while (b.len + step <= max)
                    assert_int_equal(wtkms_dbuf_add(&b, chunk, step), 0);
                assert_true(b.len <= max);
                assert_int_equal(wtkms_dbuf_add(&b, chunk, max - b.len + 1), EMSGSIZE);
                /* Sticky: even what would fit is refused now, and nothing was appended. */
                assert_int_equal(wtkms_dbuf_add(&b, chunk, 0), EMSGSIZE);
                assert_int_equal(wtkms_dbuf_str(&b, ""), EMSGSIZE);
                assert_true(b.len <= max);
                wtkms_dbuf_free(&b);
                assert_null(b.p);
                assert_int_equal(b.max, 0);
            }
    /* A size that would wrap around is refused too. */
    memset(&b, 0, sizeof(b));
    b.max = 10;
    assert_int_equal(wtkms_dbuf_add(&b, "ab", 2), 0);
    assert_int_equal(wtkms_dbuf_reserve(&b, SIZE_MAX - 1), EMSGSIZE);
    wtkms_dbuf_free(&b);
    memset(&b, 0, sizeof(b));
    assert_int_equal(wtkms_dbuf_reserve(&b, SIZE_MAX - 1), ENOMEM);
    assert_int_equal(wtkms_dbuf_add(&b, "a", 1), ENOMEM);
    wtkms_dbuf_free(&b);
}

/*
 * test_text --
 *     Growth keeps every byte and the NUL after them.
 */
static void
test_text(void **state)
{
    wtkms_dbuf b;
    char want[5000];
    size_t i;
    int locked;

    (void)state;
    for (locked = 0; locked < 2; locked++) {
        memset(&b, 0, sizeof(b));
        b.locked = locked != 0;
        for (i = 0; i < sizeof(want) - 1; i++) {
            want[i] = (char)('a' + i % 26);
            assert_int_equal(wtkms_dbuf_add(&b, &want[i], 1), 0);
            assert_int_equal(b.s[b.len], '\0');
        }
        want[i] = '\0';
        assert_int_equal(b.len, strlen(want));
        assert_string_equal(b.s, want);
        assert_true(b.cap > b.len);
        wtkms_dbuf_free(&b);
    }
    memset(&b, 0, sizeof(b));
    assert_int_equal(wtkms_dbuf_add(&b, "", 0), 0);
    assert_string_equal(b.s, "");
    wtkms_dbuf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_text),
    };

    return (cmocka_run_group_tests(tests, NULL, NULL));
}
