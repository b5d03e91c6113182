#ifndef PULSE_CNCURSES_SHIM_H
#define PULSE_CNCURSES_SHIM_H
#define NCURSES_WIDECHAR 1
#define _XOPEN_SOURCE_EXTENDED 1
#include <ncursesw/curses.h>
#include <locale.h>
#include <langinfo.h>

/* What Swift cannot reach by itself: the stdscr global and the attribute macros. */
static inline WINDOW *pulse_stdscr(void) { return stdscr; }
static inline int pulse_attr_bold(void) { return A_BOLD; }
static inline int pulse_attr_dim(void) { return A_DIM; }
static inline int pulse_attr_reverse(void) { return A_REVERSE; }
static inline int pulse_attr_underline(void) { return A_UNDERLINE; }
static inline int pulse_color_pair(int pair) { return COLOR_PAIR(pair); }

/* Clicks and the wheel (buttons 4 and 5), with no delay to tell a click from a press. */
static inline void pulse_mouse_enable(void) {
    mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
    mouseinterval(0);
}

/* After KEY_MOUSE: 1 a left click, 4 wheel up, 5 wheel down, 0 anything else. */
static inline int pulse_mouse_read(int *x, int *y) {
    MEVENT event;
    if (getmouse(&event) != OK) return 0;
    *x = event.x;
    *y = event.y;
    if (event.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED)) return 1;
    if (event.bstate & BUTTON4_PRESSED) return 4;
#ifdef BUTTON5_PRESSED
    if (event.bstate & BUTTON5_PRESSED) return 5;
#endif
    return 0;
}
#endif
