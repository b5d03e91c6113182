#ifndef PULSE_SCOREBOARD_H
#define PULSE_SCOREBOARD_H

#include <stddef.h>
#include <stdint.h>

/// A worker's scoreboard (see Scoreboard.c): slots of "METHOD target" with the
/// CLOCK_MONOTONIC time each request began, in one shared page.
#define PULSE_SCOREBOARD_SIZE 8192
#define PULSE_SCOREBOARD_SLOTS 32
#define PULSE_SCOREBOARD_TEXT 200

/// A new anonymous shared-memory file of the scoreboard's size (close-on-exec), or -1.
int pulse_scoreboard_create(void);
/// Maps it read-write and shared, or NULL.
void *pulse_scoreboard_map(int fd);
void pulse_scoreboard_unmap(void *board);
/// CLOCK_MONOTONIC in nanoseconds: the same clock in every process.
uint64_t pulse_monotonic_ns(void);
/// Writes a request into a free slot; returns its index, or -1 when all are taken.
int pulse_scoreboard_begin(void *board, const char *text, size_t length);
/// Frees the slot.
void pulse_scoreboard_end(void *board, int index);
/// Copies a busy slot: its text (at most `capacity` bytes) and start; returns the
/// length, or -1 for a free slot (or one that kept changing).
int pulse_scoreboard_read(const void *board, int index, uint64_t *started_ns, char *text, size_t capacity);

#endif
