/*
 * test_site.c: db/site.c: the site row and its site.created event (with
 * the account that made it and the reference digest), and the secret's
 * check value: the right secret passes, a regenerated one is refused with
 * the message examctl and the daemon print, a database made before the
 * check value existed gets it on its first write.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>

#include "refdigest.h"
#include "secret.h"
#include "site.h"
#include "store.h"
#include "testutil.h"

struct fx {
    struct tfile *f;
    struct store *st;
    struct secret sec, other;
};

static int setup(void **state)
{
    struct fx *x = calloc(1, sizeof(*x));
    void *f;
    struct err e;

    if (x == NULL || tfile_setup(&f, "site.db") == -1)
        return -1;
    x->f = f;
    memset(x->sec.key, 0x11, sizeof(x->sec.key));
    memset(x->other.key, 0x22, sizeof(x->other.key));
    if (store_open(&x->st, x->f->path, STORE_CREATE, &e) == -1)
        return -1;
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fx *x = *state;
    void *f = x->f;

    store_close(x->st);
    tfile_teardown(&f);
    free(x);
    return 0;
}

static void create_site(struct fx *x)
{
    struct site s;
    struct err e;

    memset(&s, 0, sizeof(s));
    snprintf(s.id, sizeof(s.id), "HZVC-01");
    snprintf(s.name, sizeof(s.name), "杭州考点");
    snprintf(s.station, sizeof(s.station), "door-101");
    snprintf(s.timezone, sizeof(s.timezone), "Asia/Shanghai");
    snprintf(s.created, sizeof(s.created), "2026-12-01T00:00:00.000Z");
    assert_int_equal(store_begin(x->st, &e), 0);
    assert_int_equal(site_create(x->st, &s, &e), 0);
    assert_int_equal(site_secret_record(x->st, &x->sec, &e), 1);
    assert_int_equal(store_commit(x->st, &e), 0);
}

static void test_site_created_event(void **state)
{
    struct fx *x = *state;
    struct refdigest d, rec;
    char payload[4096];
    json_t *j;
    struct err e;

    store_set_account(x->st, 1001, "kaowu");
    create_site(x);
    sql_text(store_db(x->st),
             "SELECT payload FROM event WHERE id = 1 AND kind = 'site.created'",
             payload, sizeof(payload));
    assert_non_null(j = json_loads(payload, 0, NULL));
    assert_string_equal(json_string_value(json_object_get(j, "site")),
                        "HZVC-01");
    assert_int_equal(json_integer_value(
                         json_object_get(json_object_get(j, "account"), "uid")),
                     1001);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j, "account"), "user")),
                        "kaowu");
    assert_int_equal(refdigest_compute(x->st, &d, &e), 0);
    assert_int_equal(refdigest_from_json(json_object_get(j, "refdigest"), &rec),
                     0);
    assert_memory_equal(&d, &rec, sizeof(d));
    json_decref(j);
}

static void test_secret_check(void **state)
{
    struct fx *x = *state;
    char v1[SECRET_CHECK_HEX + 1], v2[SECRET_CHECK_HEX + 1], stored[80];
    struct err e;

    create_site(x);
    /* what is stored is the check value, not the key */
    assert_int_equal(secret_check_value(&x->sec, v1), 0);
    assert_int_equal(secret_check_value(&x->other, v2), 0);
    assert_string_not_equal(v1, v2);
    sql_text(store_db(x->st), "SELECT value FROM secret_check", stored,
             sizeof(stored));
    assert_string_equal(stored, v1);
    assert_int_equal(strlen(v1), 64);
    assert_null(strstr(v1, "1111111111"));

    assert_int_equal(site_secret_check(x->st, &x->sec, &e), 0);
    err_clear(&e);
    assert_int_equal(site_secret_check(x->st, &x->other, &e), -1);
    assert_int_equal(e.code, EX_CONFIG);
    assert_non_null(
        strstr(e.msg, "the secret file does not belong to this database ("));
    /* recording again: the same is fine, another is refused */
    assert_int_equal(store_begin(x->st, &e), 0);
    assert_int_equal(site_secret_record(x->st, &x->sec, &e), 0);
    assert_int_equal(site_secret_record(x->st, &x->other, &e), -1);
    assert_int_equal(e.code, EX_CONFIG);
    store_rollback(x->st);
    /* outside a transaction it does not write */
    assert_int_equal(site_secret_record(x->st, &x->sec, &e), -1);
    assert_int_equal(e.code, EX_SOFTWARE);
    /* a NULL err is allowed */
    assert_int_equal(site_secret_check(x->st, &x->other, NULL), -1);
}

/* A database from before the check value: any secret passes the check
 * (there is nothing to compare with), and the first record keeps it. */
static void test_secret_check_unrecorded(void **state)
{
    struct fx *x = *state;
    struct err e;

    assert_int_equal(site_secret_check(x->st, &x->other, &e), 0);
    assert_int_equal(
        sql_int(store_db(x->st), "SELECT count(*) FROM secret_check"), 0);
    assert_int_equal(store_begin(x->st, &e), 0);
    assert_int_equal(site_secret_record(x->st, &x->sec, &e), 1);
    assert_int_equal(store_commit(x->st, &e), 0);
    assert_int_equal(site_secret_check(x->st, &x->sec, &e), 0);
    assert_int_equal(site_secret_check(x->st, &x->other, &e), -1);
    /* the table holds one value only */
    assert_int_not_equal(sqlite3_exec(store_db(x->st),
                                      "INSERT INTO secret_check VALUES (2, "
                                      "'00000000000000000000000000000000"
                                      "00000000000000000000000000000000')",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
}

/* The check value is HMAC-SHA256(key, "examsite secret check v1"): the
 * office or a technician can compute it elsewhere (the known answer is
 * Python's hmac.new(bytes(range(32)), b"examsite secret check v1",
 * hashlib.sha256)). */
static void test_check_value_known_answer(void **state)
{
    struct secret s;
    char v[SECRET_CHECK_HEX + 1];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(s.key); i++)
        s.key[i] = (unsigned char)i;
    assert_int_equal(secret_check_value(&s, v), 0);
    assert_string_equal(
        v, "dfb03bbb1092dd8751b3f5264928c6d4c2323f5c985700fb137176f574e19c1b");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_site_created_event, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_secret_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_check_unrecorded, setup,
                                        teardown),
        cmocka_unit_test(test_check_value_known_answer),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
