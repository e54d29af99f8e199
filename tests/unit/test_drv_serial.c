/*
 * test_drv_serial.c: the serial transport through device_manager_new() on
 * a real libevent loop, against a pseudo-terminal.  A scanner configured
 * on a path that does not exist yet gives one ERROR event; once a pty
 * appears there (a symlink to its slave, as udev makes /dev/serial/by-id
 * links) the retry opens it within DEVICE_SERIAL_RETRY_MS plus slack and
 * reports ATTACHED with the configured path; lines written on the master
 * arrive as CODE_SCANNED.  Closing the master (and its link, as udev
 * removes it) reports DETACHED, and the retry that follows reports the
 * open failure again.  Every wait is bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/event.h>

#include "device.h"
#include "testutil.h"

struct seen {
    int attached, detached, errors, codes;
    char where[256];
    char code[256];
};

static void on_event(const struct device_event *ev, void *arg)
{
    struct seen *s = arg;

    assert_string_equal(ev->device, "scan-tty");
    switch (ev->type) {
    case DEVICE_ATTACHED:
        s->attached++;
        snprintf(s->where, sizeof(s->where), "%s", ev->reason);
        break;
    case DEVICE_DETACHED:
        s->detached++;
        break;
    case DEVICE_ERROR:
        s->errors++;
        break;
    case DEVICE_CODE_SCANNED:
        s->codes++;
        assert_int_equal(strlen(ev->code), ev->code_len);
        snprintf(s->code, sizeof(s->code), "%s", ev->code);
        break;
    default:
        fail_msg("unexpected event %d", (int)ev->type);
    }
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Run the loop until *counter reaches want or ms pass; 1 if it did. */
static int run_until(struct event_base *base, const int *counter, int want,
                     double ms)
{
    double end = now_ms() + ms;

    while (*counter < want && now_ms() < end) {
        struct timeval tv = {0, 5000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    return *counter >= want;
}

/* What a loaded machine (two cores, sanitizers) may add to a retry. */
#define SLACK_MS 2000

/* A new pty; the master fd, the slave's path in slave. */
static int open_pty(char *slave, size_t len)
{
    int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

    if (fd == -1)
        return -1;
    if (grantpt(fd) == -1 || unlockpt(fd) == -1 ||
        ptsname_r(fd, slave, len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void write_all(int fd, const char *s)
{
    size_t n = strlen(s);

    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w == -1 && errno == EINTR)
            continue;
        assert_true(w > 0);
        s += w;
        n -= (size_t)w;
    }
}

static void test_serial_reopen(void **state)
{
    struct tdir *t = tdir_new();
    struct event_base *base = event_base_new();
    struct config_device cfg;
    struct device_manager *m;
    struct device_status st;
    struct seen s;
    struct err e;
    char slave[128];
    double t0, waited;
    int master;

    (void)state;
    assert_non_null(t);
    assert_non_null(base);
    memset(&s, 0, sizeof(s));
    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.name, sizeof(cfg.name), "scan-tty");
    cfg.type = DEVTYPE_SCANNER;
    cfg.transport = TRANSPORT_SERIAL;
    cfg.baud = 9600;
    assert_true(strlen(t->path) + sizeof("/ttyScanner") <= sizeof(cfg.path));
    memcpy(cfg.path, t->path, strlen(t->path));
    strcat(cfg.path, "/ttyScanner");

    /* Absent: not a failure of device_manager_new, one ERROR event. */
    m = device_manager_new(base, &cfg, 1, on_event, &s, &e);
    assert_non_null(m);
    assert_true(run_until(base, &s.errors, 1, 1000));
    assert_int_equal(s.attached, 0);
    assert_int_equal(device_manager_status(m, 0, &st), 0);
    assert_false(st.attached);
    assert_true(strstr(st.last_error, cfg.path) != NULL);

    /* The port appears: the next retry opens it. */
    master = open_pty(slave, sizeof(slave));
    assert_true(master >= 0);
    assert_int_equal(symlink(slave, cfg.path), 0);
    t0 = now_ms();
    assert_true(
        run_until(base, &s.attached, 1, DEVICE_SERIAL_RETRY_MS + SLACK_MS));
    waited = now_ms() - t0;
    assert_true(waited <= DEVICE_SERIAL_RETRY_MS + SLACK_MS);
    assert_string_equal(s.where, cfg.path);
    assert_int_equal(s.errors, 1); /* the retries failed quietly */
    assert_int_equal(device_manager_status(m, 0, &st), 0);
    assert_true(st.attached);
    assert_string_equal(st.where, cfg.path);
    assert_string_equal(st.last_error, "");

    /* A scanner line, CR LF ended, then one split across writes. */
    write_all(master, "ABC-123\r\n");
    assert_true(run_until(base, &s.codes, 1, 2000));
    assert_string_equal(s.code, "ABC-123");
    write_all(master, "2600000");
    run_until(base, &s.codes, 2, 100);
    write_all(master, "00001\n");
    assert_true(run_until(base, &s.codes, 2, 2000));
    assert_string_equal(s.code, "260000000001");

    /* The port goes away, and udev takes its link away with it: DETACHED,
     * then the retry fails aloud again.  (Left in place, the link could
     * meet another process's new pty under the same number.) */
    close(master);
    assert_int_equal(unlink(cfg.path), 0);
    assert_true(run_until(base, &s.detached, 1, 2000));
    assert_true(
        run_until(base, &s.errors, 2, DEVICE_SERIAL_RETRY_MS + SLACK_MS));
    assert_int_equal(s.attached, 1);
    assert_int_equal(device_manager_status(m, 0, &st), 0);
    assert_false(st.attached);

    device_manager_free(m);
    event_base_free(base);
    tdir_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serial_reopen),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
