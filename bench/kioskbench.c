/*
 * kioskbench: how long a decision takes to reach the kiosk's screen,
 * beside how long the same decision takes to reach a bare subscriber
 * (`examctl events --follow`) in the same run.
 *
 *   kioskbench roster N                      the roster CSV on stdout
 *   kioskbench run DIR EXAMSITED EXAMCTL EXAMKIOSK N [KIOSK-GROUP]
 *
 * DIR holds site.db (+ .secret) with the roster in room 101 and a session
 * whose check-in is open.  The bench plays the scanner itself on a
 * pseudo-terminal (serial mode: code + CR LF), runs examsited on it, runs
 * `examctl events --follow --json` on a pipe and examkiosk on a
 * pseudo-terminal of its own (as uid 65534 in KIOSK-GROUP (a group name) when
 * given: the kiosk's role, and the daemon's view for it, as at a door).  For
 * each check-in it times, from the write of the code's last byte, the arrival
 * of the decision's line at the bare subscriber and the first appearance
 * of the candidate's name in what the kiosk writes to its terminal: that
 * is when the screen shows it.  Every candidate's name is three CJK
 * characters of its own, so no two names share a character at any
 * position and curses must write all of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define WARMUP     10
#define TIMEOUT_MS 3000
#define OUT_MAX    (1024 * 1024)

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *what)
{
    fprintf(stderr, "kioskbench: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* The UTF-8 of code point cp (U+0800..U+FFFF) into out (3 bytes). */
static void utf8_3(unsigned cp, char *out)
{
    out[0] = (char)(0xe0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (char)(0x80 | (cp & 0x3f));
}

/* Candidate i's name: three CJK characters no other candidate has at
 * the same position (i < 4000). */
static void name_of(int i, char out[10])
{
    utf8_3(0x4e00u + (unsigned)i, out);
    utf8_3(0x6000u + (unsigned)i, out + 3);
    utf8_3(0x7400u + (unsigned)i, out + 6);
    out[9] = '\0';
}

static void ticket_of(int i, char out[13])
{
    snprintf(out, 13, "27%010d", i);
}

/* A valid resident ID number (GB 11643) for candidate i. */
static void idnum_of(int i, char out[19])
{
    static const int w[17] = {7, 9, 10, 5,  8, 4, 2, 1, 6,
                              3, 7, 9,  10, 5, 8, 4, 2};
    int s = 0, k;

    snprintf(out, 19, "1101051990%02d%02d%03d", i / 28 % 12 + 1, i % 28 + 1,
             i / 336 % 1000);
    for (k = 0; k < 17; k++)
        s += (out[k] - '0') * w[k];
    out[17] = "10X98765432"[s % 11];
    out[18] = '\0';
}

static int cmd_roster(int n)
{
    char name[10], t[13], id[19];
    int i;

    if (n < 1 || n > 4000)
        return 1;
    puts("ticket,name,id_number,session,room,seat");
    for (i = 0; i < n; i++) {
        name_of(i, name);
        ticket_of(i, t);
        idnum_of(i, id);
        printf("%s,%s,%s,K1,101,%03d\n", t, name, id, i + 1);
    }
    return 0;
}

static int open_pty(char *slave, size_t len)
{
    struct termios t;
    int m = posix_openpt(O_RDWR | O_NOCTTY);

    if (m == -1 || grantpt(m) || unlockpt(m) || ptsname_r(m, slave, len))
        die("pty");
    tcgetattr(m, &t);
    cfmakeraw(&t);
    tcsetattr(m, TCSANOW, &t);
    return m;
}

static int connect_sock(const char *path)
{
    struct sockaddr_un sun;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun.sun_path)) {
        if (fd != -1)
            close(fd);
        return -1;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);
    if (fd == -1 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
        if (fd != -1)
            close(fd);
        return -1;
    }
    return fd;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    int k = (int)(p * (n - 1) + 0.5);

    return v[k < n ? k : n - 1];
}

/* Append what fd has to buf (a sliding window of OUT_MAX bytes). */
static void slurp(int fd, char *buf, size_t *len)
{
    char tmp[65536];
    ssize_t r = read(fd, tmp, sizeof(tmp));

    if (r <= 0)
        return;
    if (*len + (size_t)r > OUT_MAX) {
        size_t keep = OUT_MAX / 2;
        memmove(buf, buf + *len - keep, keep);
        *len = keep;
    }
    memcpy(buf + *len, tmp, (size_t)r);
    *len += (size_t)r;
}

static pid_t spawn(char *const argv[], int out_fd)
{
    pid_t p = fork();

    if (p == -1)
        die("fork");
    if (p == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(out_fd >= 0 ? out_fd : null, 1);
        dup2(null, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    return p;
}

static int cmd_run(const char *dir, const char *sited, const char *ctl,
                   const char *kiosk, int n, const char *kgid)
{
    char slave[128], conf[512], sock[300], db[300], code[32], name[10];
    char *kbuf = malloc(OUT_MAX), *fbuf = malloc(OUT_MAX);
    double *tk = calloc((size_t)n, sizeof(double));
    double *tf = calloc((size_t)n, sizeof(double));
    double *dk = calloc((size_t)n, sizeof(double));
    size_t klen = 0, flen = 0;
    pid_t dpid, fpid, kpid;
    int scan, pipefd[2], kfd, i, fd, missed = 0, ok;
    struct winsize ws = {36, 120, 0, 0};
    FILE *f;

    if (!kbuf || !fbuf || !tk || !tf || !dk)
        die("memory");
    scan = open_pty(slave, sizeof(slave));
    snprintf(sock, sizeof(sock), "%s/ctl.sock", dir);
    snprintf(db, sizeof(db), "%s/site.db", dir);
    snprintf(conf, sizeof(conf), "%s/site.conf", dir);
    if ((f = fopen(conf, "w")) == NULL)
        die(conf);
    fprintf(f,
            "[site]\nid = BENCH\nstation = bench\ndatabase = %s\n"
            "timezone = Asia/Shanghai\n\n[control]\nsocket = %s\n%s%s\n\n"
            "[policy]\nmode = ticket\n\n[device door1]\ntype = scanner\n"
            "transport = serial\npath = %s\nroom = 101\n",
            db, sock, kgid ? "kiosk_group = " : "", kgid ? kgid : "", slave);
    fclose(f);
    {
        char *a[] = {(char *)sited, "--config", conf, "--foreground", NULL};
        dpid = spawn(a, -1);
    }
    for (i = 0; i < 100 && (fd = connect_sock(sock)) == -1; i++)
        usleep(50000);
    if (i == 100) {
        fprintf(stderr, "kioskbench: examsited did not start\n");
        return 1;
    }
    close(fd);
    usleep(300000); /* the scanner attached */

    if (pipe(pipefd) == -1)
        die("pipe");
    {
        char *a[] = {(char *)ctl, "--db",   db,         "--socket", sock,
                     "--json",    "events", "--follow", NULL};
        fpid = spawn(a, pipefd[1]);
    }
    close(pipefd[1]);
    fcntl(pipefd[0], F_SETFL, O_NONBLOCK);

    kpid = forkpty(&kfd, NULL, NULL, &ws);
    if (kpid == -1)
        die("forkpty");
    if (kpid == 0) {
        setenv("TERM", "xterm-256color", 1);
        setenv("LANG", "C.UTF-8", 1);
        if (kgid != NULL) {
            struct group *gr = getgrnam(kgid);
            char groups[64];
            if (gr == NULL)
                _exit(127);
            snprintf(groups, sizeof(groups), "--groups=%u",
                     (unsigned)gr->gr_gid);
            execlp("setpriv", "setpriv", "--reuid=65534", "--regid=65534",
                   groups, kiosk, "--socket", sock, "--room", "101", "--hold",
                   "60", "--no-bell", (char *)NULL);
        } else {
            execl(kiosk, kiosk, "--socket", sock, "--room", "101", "--hold",
                  "60", "--no-bell", (char *)NULL);
        }
        _exit(127);
    }
    fcntl(kfd, F_SETFL, O_NONBLOCK);
    /* let both connect and draw their first screens */
    for (double until = now_ms() + 1500; now_ms() < until;) {
        struct pollfd p[2] = {{kfd, POLLIN, 0}, {pipefd[0], POLLIN, 0}};
        poll(p, 2, 50);
        if (p[0].revents & POLLIN)
            slurp(kfd, kbuf, &klen);
        if (p[1].revents & POLLIN)
            slurp(pipefd[0], fbuf, &flen);
    }

    for (i = 0; i < n + WARMUP; i++) {
        int k = i - WARMUP, seen_k = 0, seen_f = 0;
        double t0, tkk = 0, tff = 0;
        char t[13];

        name_of(i, name);
        ticket_of(i, t);
        klen = flen = 0;
        snprintf(code, sizeof(code), "%s\r\n", t);
        if (write(scan, code, strlen(code)) != (ssize_t)strlen(code))
            die("scanner write");
        t0 = now_ms();
        while ((!seen_k || !seen_f) && now_ms() - t0 < TIMEOUT_MS) {
            struct pollfd p[2] = {{kfd, POLLIN, 0}, {pipefd[0], POLLIN, 0}};
            poll(p, 2, 20);
            if (p[0].revents & POLLIN) {
                slurp(kfd, kbuf, &klen);
                if (!seen_k && memmem(kbuf, klen, name, 9) != NULL) {
                    seen_k = 1;
                    tkk = now_ms() - t0;
                }
            }
            if (p[1].revents & POLLIN) {
                slurp(pipefd[0], fbuf, &flen);
                if (!seen_f && memmem(fbuf, flen, t, 12) != NULL) {
                    seen_f = 1;
                    tff = now_ms() - t0;
                }
            }
        }
        if (!seen_k || !seen_f) {
            missed++;
            fprintf(stderr, "kioskbench: decision %d not seen by the %s\n", i,
                    !seen_k ? "kiosk" : "subscriber");
            continue;
        }
        if (k >= 0) {
            tk[k] = tkk;
            tf[k] = tff;
            dk[k] = tkk - tff;
        }
        /* a person walks in: the next card comes a little later */
        for (double until = now_ms() + 30; now_ms() < until;) {
            struct pollfd p[2] = {{kfd, POLLIN, 0}, {pipefd[0], POLLIN, 0}};
            poll(p, 2, 10);
            if (p[0].revents & POLLIN)
                slurp(kfd, kbuf, &klen);
            if (p[1].revents & POLLIN)
                slurp(pipefd[0], fbuf, &flen);
        }
    }
    kill(kpid, SIGTERM);
    kill(fpid, SIGTERM);
    kill(dpid, SIGTERM);
    waitpid(kpid, NULL, 0);
    waitpid(fpid, NULL, 0);
    waitpid(dpid, NULL, 0);
    if (missed) {
        fprintf(stderr, "kioskbench: %d decisions not seen\n", missed);
        return 1;
    }
    qsort(tk, (size_t)n, sizeof(double), cmpd);
    qsort(tf, (size_t)n, sizeof(double), cmpd);
    qsort(dk, (size_t)n, sizeof(double), cmpd);
    {
        double km = pct(tk, n, 0.5), k99 = pct(tk, n, 0.99);
        double fm = pct(tf, n, 0.5), f99 = pct(tf, n, 0.99);

        printf("decision -> screen, %d check-ins (scanner byte to what the "
               "terminal is sent):\n",
               n);
        printf("  examkiosk screen      median %7.2f ms   p99 %7.2f ms\n", km,
               k99);
        printf("  bare events --follow  median %7.2f ms   p99 %7.2f ms\n", fm,
               f99);
        printf("  kiosk after the bare subscriber: median %.2f ms, p99 %.2f "
               "ms\n",
               pct(dk, n, 0.5), pct(dk, n, 0.99));
        printf("  ratio kiosk/bare      median %.2fx      p99 %.2fx   "
               "(target <= 2x, p99 <= 50 ms)\n",
               km / fm, k99 / f99);
        ok = k99 <= 50.0 && km <= 2 * fm && k99 <= 2 * f99;
        printf("  %s\n", ok ? "ok" : "MISSED THE TARGET");
    }
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc == 3 && strcmp(argv[1], "roster") == 0)
        return cmd_roster(atoi(argv[2]));
    if ((argc == 7 || argc == 8) && strcmp(argv[1], "run") == 0)
        return cmd_run(argv[2], argv[3], argv[4], argv[5], atoi(argv[6]),
                       argc == 8 ? argv[7] : NULL);
    fprintf(stderr, "usage: kioskbench roster N\n"
                    "       kioskbench run DIR EXAMSITED EXAMCTL EXAMKIOSK N "
                    "[KIOSK-GROUP]\n");
    return 64;
}
