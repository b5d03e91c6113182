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
#endif
