/*
 * screen.h: drawing the model with ncursesw, full screen.
 *
 * Text is laid out by display width (wcwidth), never by bytes: a Chinese
 * character takes two columns, and a line that does not fit is cut at a
 * character.  The seat (or the room to go to) is drawn in block digits
 * as large as the panel allows.  Colour when the terminal has it (256
 * colours where it can, else the 8 basic ones); without colour, the
 * panels differ by video attributes and a mark (✔ ! ✘) before the title.
 * Any size is drawn without a fault; 80×24 and up shows everything.
 */
#ifndef EXAMKIOSK_SCREEN_H
#define EXAMKIOSK_SCREEN_H

#include <stddef.h>
#include <time.h>

#include "model.h"

struct screen_opts {
    int monochrome; /* 1: never use colour */
};

enum screen_view { VIEW_MAIN = 0, VIEW_SEATS };

/* Take over the terminal (initscr and friends).  0 or -1. */
int screen_init(const struct screen_opts *o);

/* Give the terminal back.  Safe to call twice. */
void screen_end(void);

/* The terminal changed size: rows x cols (from TIOCGWINSZ). */
void screen_resize(int rows, int cols);

/* Draw everything: the view, scrolled by scroll rows (seats view), the
 * clock at now.  Returns the largest useful scroll for the seats view. */
int screen_draw(const struct model *m, enum screen_view view, int scroll,
                time_t now);

/* Ring the terminal's bell. */
void screen_bell(void);

/* The display width of a UTF-8 string (for tests of layout, and the
 * drawing itself). */
int screen_text_width(const char *utf8);

#endif
