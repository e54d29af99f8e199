/*
 * screen.c: the kiosk's drawing (screen.h).  Every frame is drawn whole
 * into stdscr and ncurses sends only what changed.
 *
 *   ┌ site · room ──────── session ───────────────── clock ┐  header
 *   │                                                       │
 *   │            ✔ 请入场 / Please enter                    │  panel
 *   │                 座位 Seat                             │  (green,
 *   │                ███ ███                                │   amber,
 *   │                  ...                                  │   red, blue,
 *   │            黄伟   准考证 ********0001                 │   grey)
 *   │            the daemon's message, zh / en              │
 *   ├ 应到 expected · 实到 present · 迟到 late · 缺考 absent ┤  counts
 *   │ 最近检录: the last ten check-ins (time, seat, name)   │
 *   └ reader · scanner · daemon · sync ─────────── s: seats ┘  status
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <curses.h>

#include "screen.h"

#define TEXT_MAX  1024 /* wide characters drawn from one string */
#define SEAT_CELL 32   /* columns of one seat in the seats view */

enum {
    CP_OK = 1,
    CP_WARN,
    CP_INFO,
    CP_REFUSED,
    CP_OFFLINE,
    CP_IDLE,
    CP_HEADER,
    CP_GOOD,
    CP_BAD,
    CP_LATE,
    CP_OUT,
};

static int colour; /* colours are in use */
static int started;

int screen_init(const struct screen_opts *o)
{
    int white, bg;

    if (initscr() == NULL)
        return -1;
    started = 1;
    raw();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    curs_set(0);
    if (!o->monochrome && has_colors() && start_color() == OK) {
        int c256 = COLORS >= 256;

        colour = 1;
        bg = use_default_colors() == OK ? -1 : COLOR_BLACK;
        white = c256 ? 15 : COLOR_WHITE;
        init_pair(CP_OK, white, c256 ? 28 : COLOR_GREEN);
        init_pair(CP_WARN, COLOR_BLACK, c256 ? 214 : COLOR_YELLOW);
        init_pair(CP_INFO, white, c256 ? 25 : COLOR_BLUE);
        init_pair(CP_REFUSED, white, c256 ? 160 : COLOR_RED);
        init_pair(CP_OFFLINE, white, c256 ? 240 : COLOR_MAGENTA);
        init_pair(CP_IDLE, white, c256 ? 236 : COLOR_BLACK);
        init_pair(CP_HEADER, COLOR_BLACK, c256 ? 252 : COLOR_WHITE);
        init_pair(CP_GOOD, c256 ? 40 : COLOR_GREEN, bg);
        init_pair(CP_BAD, c256 ? 196 : COLOR_RED, bg);
        init_pair(CP_LATE, c256 ? 214 : COLOR_YELLOW, bg);
        init_pair(CP_OUT, c256 ? 39 : COLOR_CYAN, bg);
    }
    return 0;
}

void screen_end(void)
{
    if (started)
        endwin();
    started = 0;
}

void screen_resize(int rows, int cols)
{
    if (rows > 0 && cols > 0)
        resizeterm(rows, cols);
}

void screen_bell(void)
{
    beep();
}

/* utf8 as wide characters, dropping what cannot be shown; n returned. */
static size_t widen(const char *s, wchar_t *out, size_t max)
{
    size_t n = 0, left = strlen(s), r;
    mbstate_t st;
    wchar_t wc;

    memset(&st, 0, sizeof(st));
    while (left > 0 && n + 1 < max) {
        r = mbrtowc(&wc, s, left, &st);
        if (r == (size_t)-1 || r == (size_t)-2) {
            memset(&st, 0, sizeof(st));
            s++;
            left--;
            continue;
        }
        if (r == 0)
            break;
        s += r;
        left -= r;
        if (wcwidth(wc) < 0)
            continue; /* not printable */
        out[n++] = wc;
    }
    out[n] = L'\0';
    return n;
}

int screen_text_width(const char *utf8)
{
    wchar_t buf[TEXT_MAX];
    size_t n = widen(utf8, buf, TEXT_MAX), i;
    int w = 0;

    for (i = 0; i < n; i++)
        w += wcwidth(buf[i]);
    return w;
}

/* Draw s at (y, x) in at most maxw columns, cut at a character; returns
 * the columns used. */
static int put(int y, int x, int maxw, const char *s)
{
    wchar_t buf[TEXT_MAX];
    size_t n, i;
    int w = 0, cw;

    if (y < 0 || y >= LINES || x < 0 || x >= COLS || maxw <= 0)
        return 0;
    if (x + maxw > COLS)
        maxw = COLS - x;
    n = widen(s, buf, TEXT_MAX);
    for (i = 0; i < n; i++) {
        cw = wcwidth(buf[i]);
        if (w + cw > maxw)
            break;
        w += cw;
    }
    if (i > 0)
        mvaddnwstr(y, x, buf, (int)i);
    return w;
}

static void put_center(int y, int left, int width, const char *s)
{
    int tw = screen_text_width(s);

    if (tw > width)
        tw = width;
    put(y, left + (width - tw) / 2, width, s);
}

/* A whole row in attr (a colour pair, or a video attribute). */
static void fill_row(int y, chtype attr)
{
    if (y >= 0 && y < LINES)
        mvhline(y, 0, ' ' | attr, COLS);
}

/* --- block digits ------------------------------------------------------ */

static const char *const glyphs[][5] = {
    {"###", "# #", "# #", "# #", "###"}, {" # ", "## ", " # ", " # ", "###"},
    {"###", "  #", "###", "#  ", "###"}, {"###", "  #", "###", "  #", "###"},
    {"# #", "# #", "###", "  #", "  #"}, {"###", "#  ", "###", "  #", "###"},
    {"###", "#  ", "###", "# #", "###"}, {"###", "  #", "  #", "  #", "  #"},
    {"###", "# #", "###", "# #", "###"}, {"###", "# #", "###", "  #", "###"},
};
static const char *const glyph_dash[5] = {"   ", "   ", "###", "   ", "   "};

static const char *const *glyph(char c)
{
    if (c >= '0' && c <= '9')
        return glyphs[c - '0'];
    if (c == '-')
        return glyph_dash;
    return NULL;
}

/* The scale of text in block digits within w x h cells, 0 when it
 * cannot be drawn so (a character without a glyph, or no room). */
static int big_scale(const char *text, int w, int h)
{
    int n = (int)strlen(text), s, i;

    if (n == 0 || n > 8)
        return 0;
    for (i = 0; i < n; i++)
        if (glyph(text[i]) == NULL)
            return 0;
    for (s = 6; s >= 1; s--) {
        /* a pixel is 2s columns by s rows (cells are twice as tall) */
        int width = n * 6 * s + (n - 1) * 2 * s;
        if (width <= w && 5 * s <= h)
            return s;
    }
    return 0;
}

static void draw_big(int y, int left, int width, int s, const char *text,
                     chtype attr)
{
    int n = (int)strlen(text), total = n * 6 * s + (n - 1) * 2 * s;
    int x0 = left + (width - total) / 2, i, r, c, k;
    /* the panel's colours reversed; on a reversed (monochrome) panel,
     * plain video */
    chtype blk = (attr & A_REVERSE) ? (attr & ~A_REVERSE) : (attr | A_REVERSE);

    for (i = 0; i < n; i++) {
        const char *const *g = glyph(text[i]);
        int gx = x0 + i * 8 * s;
        for (r = 0; r < 5; r++)
            for (c = 0; c < 3; c++) {
                if (g[r][c] != '#')
                    continue;
                for (k = 0; k < s; k++)
                    if (y + r * s + k < LINES && gx + c * 2 * s >= 0)
                        mvhline(y + r * s + k, gx + c * 2 * s, ' ' | blk,
                                2 * s);
            }
    }
}

/* --- the main view ----------------------------------------------------- */

static chtype panel_attr(enum panel_kind k)
{
    static const int pairs[] = {CP_IDLE, CP_OK,      CP_WARN,
                                CP_INFO, CP_REFUSED, CP_OFFLINE};

    if (colour)
        return COLOR_PAIR(pairs[k]);
    switch (k) {
    case PANEL_REFUSED:
    case PANEL_OFFLINE:
        return A_REVERSE;
    default:
        return A_NORMAL;
    }
}

static const char *panel_mark(enum panel_kind k)
{
    switch (k) {
    case PANEL_OK:
        return "✔ ";
    case PANEL_WARN:
        return "! ";
    case PANEL_REFUSED:
    case PANEL_OFFLINE:
        return "✘ ";
    default:
        return "";
    }
}

static void hhmm_now(time_t now, char *out, size_t n)
{
    struct tm tm;

    if (localtime_r(&now, &tm) == NULL)
        snprintf(out, n, "--:--:--");
    else
        snprintf(out, n, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void draw_header(const struct model *m, time_t now)
{
    char left[400], mid[400], clock[16];
    chtype a = colour ? COLOR_PAIR(CP_HEADER) : A_REVERSE;
    int cw, lw;

    attrset(a);
    fill_row(0, a);
    hhmm_now(now, clock, sizeof(clock));
    snprintf(left, sizeof(left), " %s · 考场 Room %s",
             m->site_name[0] ? m->site_name : m->site, m->room);
    if (m->session.have)
        snprintf(mid, sizeof(mid), "%s %s · %s–%s", m->session.certificate,
                 m->session.level, m->session.start, m->session.end);
    else
        snprintf(mid, sizeof(mid), "%s",
                 m->have_state ? "今日无考试 No exam today" : "");
    cw = (int)strlen(clock) + 1;
    put(0, COLS - cw, cw, clock);
    attron(A_BOLD);
    lw = put(0, 0, COLS - cw - 1, left);
    attroff(A_BOLD);
    put(0, lw + 3, COLS - cw - lw - 4, mid);
    attrset(A_NORMAL);
}

/* The line under the prompt: where the session stands. */
static void idle_detail(const struct model *m, char *zh, char *en, size_t n)
{
    const char *st = m->session.state;

    if (!m->session.have) {
        snprintf(zh, n, "今日本考场没有考试");
        snprintf(en, n, "No exam in this room today");
    } else if (m->session.sealed) {
        snprintf(zh, n, "本场已封场");
        snprintf(en, n, "This session is closed and sealed");
    } else if (strcmp(st, "upcoming") == 0) {
        snprintf(zh, n, "检录 %s 开始", m->session.opens);
        snprintf(en, n, "Check-in opens at %s", m->session.opens);
    } else if (strcmp(st, "open") == 0) {
        snprintf(zh, n, "检录中 · 考试 %s 开始", m->session.start);
        snprintf(en, n, "Check-in open · the exam starts at %s",
                 m->session.start);
    } else if (strcmp(st, "under_way") == 0) {
        snprintf(zh, n, "考试进行中 · 迟到截止 %s", m->session.cutoff);
        snprintf(en, n, "Exam under way · late entry until %s",
                 m->session.cutoff);
    } else {
        snprintf(zh, n, "本场考试已结束");
        snprintf(en, n, "This exam has ended");
    }
}

static void draw_panel(const struct model *m, int top, int height)
{
    const struct model_panel *p = &m->panel;
    chtype a = panel_attr(p->kind);
    char t_zh[MODEL_TEXT + 8], t_en[MODEL_TEXT + 8], line[MODEL_TEXT];
    char d_zh[MODEL_TEXT], d_en[MODEL_TEXT];
    const char *pz, *pe;
    int y, fixed, s = 0, biglines = 0, used, w = COLS - 4;

    for (y = top; y < top + height; y++)
        fill_row(y, a);
    attrset(a);
    if (p->kind == PANEL_IDLE) {
        model_prompt(m, &pz, &pe);
        snprintf(t_zh, sizeof(t_zh), "%s", pz);
        snprintf(t_en, sizeof(t_en), "%s", pe);
        idle_detail(m, d_zh, d_en, sizeof(d_zh));
    } else if (p->kind == PANEL_OFFLINE) {
        snprintf(t_zh, sizeof(t_zh), "✘ 未连接检录系统 · 请稍候");
        snprintf(t_en, sizeof(t_en),
                 "Not connected to the check-in system · please wait");
        snprintf(d_zh, sizeof(d_zh), "正在重新连接…");
        snprintf(d_en, sizeof(d_en), "Reconnecting… (%s)", m->offline_why);
    } else {
        snprintf(t_zh, sizeof(t_zh), "%s%s", panel_mark(p->kind), p->title_zh);
        snprintf(t_en, sizeof(t_en), "%s", p->title_en);
        snprintf(d_zh, sizeof(d_zh), "%s", p->detail_zh);
        snprintf(d_en, sizeof(d_en), "%s", p->detail_en);
    }
    /* title 2, name 1, details 2, label 1, and a blank between parts */
    fixed = 2 + (p->name[0] || p->ticket[0]) + (d_zh[0] != 0) + (d_en[0] != 0) +
            (p->big[0] ? 1 : 0) + 2;
    if (p->big[0]) {
        s = big_scale(p->big, w, height - fixed);
        biglines = s ? 5 * s : 1;
    }
    used = fixed + biglines;
    y = top + (height > used ? (height - used) / 2 : 0);
    attron(A_BOLD);
    put_center(y++, 2, w, t_zh);
    attroff(A_BOLD);
    put_center(y++, 2, w, t_en);
    y++;
    if (p->big[0]) {
        snprintf(line, sizeof(line), "%s %s", p->big_label_zh, p->big_label_en);
        if (!s) { /* no room for block digits: the text, bold */
            snprintf(line, sizeof(line), "%s %s  %s", p->big_label_zh,
                     p->big_label_en, p->big);
            attron(A_BOLD);
        }
        put_center(y++, 2, w, line);
        attroff(A_BOLD);
        if (s) {
            draw_big(y, 2, w, s, p->big, a);
            y += 5 * s;
        }
    }
    y++;
    if (p->name[0] || p->ticket[0]) {
        snprintf(line, sizeof(line), "%s%s%s%s", p->name,
                 p->name[0] && p->ticket[0] ? "    " : "",
                 p->ticket[0] ? "准考证 Ticket " : "", p->ticket);
        attron(A_BOLD);
        put_center(y++, 2, w, line);
        attroff(A_BOLD);
    }
    if (d_zh[0] && y < top + height)
        put_center(y++, 2, w, d_zh);
    if (d_en[0] && y < top + height)
        put_center(y++, 2, w, d_en);
    attrset(A_NORMAL);
}

static const char *session_state_label(const struct model *m)
{
    const char *st = m->session.state;

    if (!m->session.have)
        return "";
    if (m->session.sealed)
        return "已封场 sealed";
    if (strcmp(st, "upcoming") == 0)
        return "未开始 not open";
    if (strcmp(st, "open") == 0)
        return "检录中 check-in open";
    if (strcmp(st, "under_way") == 0)
        return "考试中 under way";
    return "已结束 ended";
}

/* "label N" with N bold; returns the columns used. */
static int put_count(int y, int x, const char *label, int n)
{
    char num[16];
    int w;

    w = put(y, x, COLS - x, label);
    snprintf(num, sizeof(num), " %d", n);
    attron(A_BOLD);
    w += put(y, x + w, COLS - x - w, num);
    attroff(A_BOLD);
    return w;
}

static void draw_counts(const struct model *m, int y)
{
    int x = 1;

    x += put_count(y, x, "应到 Expected", m->expected) + 3;
    x += put_count(y, x, "实到 Present", m->present) + 3;
    x += put_count(y, x, "迟到 Late", m->late) + 3;
    x += put_count(y, x, "缺考 Absent", m->absent) + 3;
    put(y, x, COLS - x, session_state_label(m));
}

static void draw_recent(const struct model *m, int y, int lines)
{
    int ncol = COLS >= 80 ? 2 : 1, cw = COLS / ncol, i;
    char line[200];

    if (lines <= 0)
        return;
    attron(A_DIM);
    put(y, 1, COLS - 2,
        m->nrecent ? "最近检录 Last check-ins" : "最近检录 Last check-ins: —");
    attroff(A_DIM);
    for (i = 0; i < (int)m->nrecent && i < lines * ncol; i++) {
        const struct model_recent *r = &m->recent[i];
        int row = y + 1 + i % lines, x = 1 + (i / lines) * cw;
        snprintf(line, sizeof(line), "%s  座 %-4s %s%s", r->hhmm, r->seat,
                 r->name, r->late ? "  迟到 late" : "");
        put(row, x, cw - 2, line);
    }
}

/* "label ✔ on" / "label ✘ off" for the devices of one type. */
static int put_devices(const struct model *m, int y, int x, int idcard,
                       const char *label)
{
    int n = 0, up = 0, w;
    size_t i;
    char buf[64];

    for (i = 0; i < m->ndevices; i++)
        if (m->devices[i].idcard == idcard) {
            n++;
            up += m->devices[i].attached;
        }
    w = put(y, x, COLS - x, label);
    if (n == 0)
        return w + put(y, x + w, COLS - x - w, " —");
    if (n == 1)
        snprintf(buf, sizeof(buf), " %s", up ? "✔ 已连接 on" : "✘ 未连接 off");
    else
        snprintf(buf, sizeof(buf), " %s %d/%d", up == n ? "✔" : "✘", up, n);
    if (colour)
        attron(COLOR_PAIR(up == n ? CP_GOOD : CP_BAD) | A_BOLD);
    w += put(y, x + w, COLS - x - w, buf);
    attrset(A_NORMAL);
    return w;
}

static void draw_status(const struct model *m, int y, int seats_view)
{
    char buf[200];
    const char *hint =
        seats_view ? "s 返回 back  ↑↓ PgUp PgDn 滚动" : "s 座位 seats";
    int x = 1, hw = screen_text_width(hint);

    x += put_devices(m, y, x, 1, "读卡器 Reader") + 3;
    x += put_devices(m, y, x, 0, "扫描枪 Scanner") + 3;
    x += put(y, x, COLS - x, "服务 Daemon ");
    if (colour)
        attron(COLOR_PAIR(m->connected ? CP_GOOD : CP_BAD) | A_BOLD);
    else if (!m->connected)
        attron(A_REVERSE);
    x += put(y, x, COLS - x,
             m->connected ? "✔ 已连接 connected" : "✘ 未连接 disconnected");
    attrset(A_NORMAL);
    if (m->last_sync[0]) {
        /* at 100 columns, with every device listed, the English label is
         * what gives way, never the time */
        snprintf(buf, sizeof(buf), "   同步 Sync %s", m->last_sync);
        if (x + screen_text_width(buf) > COLS)
            snprintf(buf, sizeof(buf), "  同步 %s", m->last_sync);
        x += put(y, x, COLS - x, buf);
    }
    if (x + hw + 2 < COLS) {
        attron(A_DIM);
        put(y, COLS - hw - 1, hw, hint);
        attroff(A_DIM);
    }
}

static void draw_main(const struct model *m)
{
    int ncol = COLS >= 80 ? 2 : 1, lines, panel;

    lines = (MODEL_RECENT + ncol - 1) / ncol;
    if (lines > LINES - 16)
        lines = LINES - 16 > 0 ? LINES - 16 : 0;
    /* header, counts, status; the recent block has a title line */
    panel = LINES - 3 - (lines ? lines + 1 : 0);
    if (panel < 1)
        panel = 1;
    draw_panel(m, 1, panel);
    draw_counts(m, 1 + panel);
    draw_recent(m, 2 + panel, lines);
    draw_status(m, LINES - 1, 0);
}

/* --- the supervisor's seats view ---------------------------------------- */

static void seat_label(const struct model_seat *s, const char **text, int *cp)
{
    switch (s->state) {
    case SEAT_PRESENT:
        *text = s->late ? "迟到 late" : "已到 present";
        *cp = s->late ? CP_LATE : CP_GOOD;
        break;
    case SEAT_OUT:
        *text = "离场 exited";
        *cp = CP_OUT;
        break;
    case SEAT_ABSENT:
        *text = "缺考 absent";
        *cp = CP_BAD;
        break;
    default:
        *text = "未到 not yet";
        *cp = 0;
        break;
    }
}

static int draw_seats(const struct model *m, int scroll)
{
    int ncol = COLS / SEAT_CELL > 0 ? COLS / SEAT_CELL : 1;
    int rows = LINES - 3, total, max_scroll, r, c;
    char line[300];

    total = ((int)m->nseats + ncol - 1) / ncol;
    max_scroll = total > rows ? total - rows : 0;
    if (scroll > max_scroll)
        scroll = max_scroll;
    if (scroll < 0)
        scroll = 0;
    snprintf(line, sizeof(line),
             " 座位状态 Seats · 考场 Room %s · %s   应到 %d  实到 %d  迟到 %d  "
             "缺考 %d",
             m->room, m->session.have ? m->session.code : "—", m->expected,
             m->present, m->late, m->absent);
    attron(A_BOLD);
    put(1, 0, COLS, line);
    attroff(A_BOLD);
    if (m->nseats == 0)
        put(3, 2, COLS - 4, "没有座位 No seats in this room's session");
    for (r = 0; r < rows && r + scroll < total; r++)
        for (c = 0; c < ncol; c++) {
            size_t i = (size_t)(r + scroll) * (size_t)ncol + (size_t)c;
            const struct model_seat *s;
            const char *label;
            int cp, x = c * SEAT_CELL + 1, w;
            if (i >= m->nseats)
                break;
            s = &m->seats[i];
            snprintf(line, sizeof(line), "%-4s ", s->seat);
            w = put(2 + r, x, 5, line);
            w += put(2 + r, x + w, 12, s->name);
            seat_label(s, &label, &cp);
            if (colour && cp)
                attron(COLOR_PAIR(cp) | A_BOLD);
            else if (!colour && s->state == SEAT_ABSENT)
                attron(A_REVERSE);
            put(2 + r, x + 18, SEAT_CELL - 19, label);
            attrset(A_NORMAL);
        }
    draw_status(m, LINES - 1, 1);
    if (total > rows) {
        snprintf(line, sizeof(line), "%d–%d / %d", scroll + 1,
                 scroll + rows < total ? scroll + rows : total, total);
        put(LINES - 2, COLS - screen_text_width(line) - 1, COLS, line);
    }
    return max_scroll;
}

int screen_draw(const struct model *m, enum screen_view view, int scroll,
                time_t now)
{
    int max_scroll = 0;

    erase();
    draw_header(m, now);
    if (view == VIEW_SEATS)
        max_scroll = draw_seats(m, scroll);
    else
        draw_main(m);
    refresh();
    return max_scroll;
}
