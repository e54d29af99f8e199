/*
 * test_central_auth.c: the office's users (central/auth.c): passwd
 * writes a PBKDF2 line and keeps the other users, the password read from
 * a stream and never written; HTTP Basic checks (right, wrong, unknown
 * user, a colon in the password, malformed headers); a right header
 * granted again without a check, wrong passwords throttled; the users
 * file refused line by line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "auth.h"
#include "testutil.h"

static void set_password(const char *path, const char *name, const char *pw)
{
    FILE *in = fmemopen((void *)pw, strlen(pw), "r");
    struct err e;

    assert_non_null(in);
    if (users_passwd(path, name, in, AUTH_ITERATIONS_MIN, &e) == -1)
        fail_msg("%s", e.msg);
    fclose(in);
}

/* "Basic base64(user:password)" */
static void basic(const char *userpass, char *out, size_t n)
{
    unsigned char b64[512];

    EVP_EncodeBlock(b64, (const unsigned char *)userpass,
                    (int)strlen(userpass));
    snprintf(out, n, "Basic %s", (char *)b64);
}

static int check(struct users *u, const char *userpass)
{
    char h[600];
    const char *who = NULL;

    basic(userpass, h, sizeof(h));
    return users_check(u, h, 1000, &who);
}

static void test_passwd_and_check(void **state)
{
    struct tfile *f = *state;
    struct users *u;
    struct stat sb;
    struct err e;
    char line[512], h[600];
    const char *who = NULL;
    FILE *fp;
    int n = 0;

    set_password(f->path, "office", "first-password\n");
    set_password(f->path, "clerk", "pa:ss:word-2\n");
    set_password(f->path, "office", "second-password\n");
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    fp = fopen(f->path, "r");
    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp) != NULL) {
        n++;
        assert_null(strstr(line, "password"));
        assert_non_null(strstr(line, ":$pbkdf2-sha256$1000$"));
    }
    fclose(fp);
    assert_int_equal(n, 2);
    assert_non_null(u = users_load(f->path, &e));
    assert_int_equal(users_count(u), 2);
    assert_int_equal(AUTH_OK, check(u, "office:second-password"));
    assert_int_equal(AUTH_DENIED, check(u, "office:first-password"));
    assert_int_equal(
        AUTH_OK, check(u, "clerk:pa:ss:word-2")); /* the first colon splits */
    assert_int_equal(AUTH_DENIED, check(u, "clerk:pa:ss:word-"));
    assert_int_equal(AUTH_DENIED, check(u, "nobody:second-password"));
    assert_int_equal(AUTH_DENIED, check(u, "office"));
    assert_int_equal(AUTH_DENIED, check(u, ":second-password"));
    basic("office:second-password", h, sizeof(h));
    assert_int_equal(AUTH_OK, users_check(u, h, 1000, &who));
    assert_string_equal(who, "office");
    h[strlen(h) - 1] = '\0'; /* a truncated base64 */
    assert_int_equal(AUTH_DENIED, users_check(u, h, 1000, NULL));
    assert_int_equal(AUTH_DENIED, users_check(u, "Basic", 1000, NULL));
    assert_int_equal(AUTH_DENIED, users_check(u, "Basic !!!!", 1000, NULL));
    assert_int_equal(AUTH_DENIED,
                     users_check(u, "Bearer b2ZmaWNlOng=", 1000, NULL));
    assert_int_equal(AUTH_DENIED, users_check(u, NULL, 1000, NULL));
    assert_int_equal(AUTH_DENIED, users_check(NULL, h, 1000, NULL));
    users_free(u);
}

static void test_passwd_refusals(void **state)
{
    struct tfile *f = *state;
    FILE *in;
    struct err e;

    in = fmemopen((void *)"short\n", 6, "r");
    assert_int_equal(users_passwd(f->path, "office", in, 1000, &e), -1);
    assert_non_null(strstr(e.msg, "under 8"));
    fclose(in);
    in = fmemopen((void *)"long enough\n", 12, "r");
    assert_int_equal(users_passwd(f->path, "bad name", in, 1000, &e), -1);
    assert_int_equal(users_passwd(f->path, "office", in, 10, &e), -1);
    fclose(in);
    assert_int_equal(access(f->path, F_OK), -1); /* nothing written */
}

static void bad_file(const char *path, const char *text, mode_t mode,
                     const char *why)
{
    struct err e;
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    chmod(path, mode);
    assert_null(users_load(path, &e));
    if (strstr(e.msg, why) == NULL)
        fail_msg("'%s' not in '%s'", why, e.msg);
}

static void test_users_file_refused(void **state)
{
    struct tfile *f = *state;
    char good[256], text[600];

    set_password(f->path, "office", "a-good-password\n");
    {
        FILE *fp = fopen(f->path, "r");
        assert_non_null(fgets(good, sizeof(good), fp));
        fclose(fp);
    }
    bad_file(f->path, good, 0604, "others may read it");
    snprintf(text, sizeof(text), "# users\n\n%soffice:plain\n", good);
    bad_file(f->path, text, 0600, ":4: expected NAME:$pbkdf2-sha256$");
    snprintf(text, sizeof(text), "%s%s", good, good);
    bad_file(f->path, text, 0600, ":2: user office twice");
    bad_file(f->path, "office:$pbkdf2-sha256$10$00$00\n", 0600, ":1:");
    bad_file(f->path, "bad name:$pbkdf2-sha256$1000$x$y\n", 0600, ":1:");
}

static int setup(void **state)
{
    return tfile_setup(state, "users");
}

/* A right header is granted again without a check for
 * AUTH_GRANT_SECONDS; wrong passwords spend a budget that refills, and an
 * empty budget answers AUTH_THROTTLED without checking, even a right
 * password not granted before. */
static void test_grants_and_throttle(void **state)
{
    struct tfile *f = *state;
    char right[600], wrong[600], other[600];
    struct users *u;
    struct err e;
    const char *who = NULL;
    int i;

    set_password(f->path, "office", "right-password\n");
    set_password(f->path, "clerk", "clerk-password\n");
    assert_non_null(u = users_load(f->path, &e));
    basic("office:right-password", right, sizeof(right));
    basic("office:wrong-password", wrong, sizeof(wrong));
    basic("clerk:clerk-password", other, sizeof(other));
    assert_int_equal(AUTH_OK, users_check(u, right, 1000, &who));
    for (i = 0; i < AUTH_FAILURES_BURST; i++)
        assert_int_equal(AUTH_DENIED, users_check(u, wrong, 1000, NULL));
    assert_int_equal(AUTH_THROTTLED, users_check(u, wrong, 1000, NULL));
    assert_int_equal(AUTH_THROTTLED, users_check(u, other, 1000, NULL));
    /* the granted header is still let in, and says who */
    who = NULL;
    assert_int_equal(AUTH_OK, users_check(u, right, 1001, &who));
    assert_string_equal(who, "office");
    /* one check back after AUTH_FAILURE_SECONDS */
    assert_int_equal(AUTH_OK,
                     users_check(u, other, 1000 + AUTH_FAILURE_SECONDS, &who));
    assert_string_equal(who, "clerk");
    assert_int_equal(AUTH_DENIED,
                     users_check(u, wrong, 1000 + AUTH_FAILURE_SECONDS, NULL));
    assert_int_equal(AUTH_THROTTLED,
                     users_check(u, wrong, 1000 + AUTH_FAILURE_SECONDS, NULL));
    /* a grant runs out: the header is checked again (budget permitting) */
    assert_int_equal(AUTH_OK,
                     users_check(u, right, 1000 + AUTH_GRANT_SECONDS, &who));
    users_free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_passwd_and_check, setup,
                                        tfile_teardown),
        cmocka_unit_test_setup_teardown(test_passwd_refusals, setup,
                                        tfile_teardown),
        cmocka_unit_test_setup_teardown(test_users_file_refused, setup,
                                        tfile_teardown),
        cmocka_unit_test_setup_teardown(test_grants_and_throttle, setup,
                                        tfile_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
