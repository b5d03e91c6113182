// The scoreboard: a page of shared memory per worker where it writes the requests
// it is serving, so the arbiter can read them even when the worker is hung (its
// event loop blocked, no heartbeat) and say, when it kills it, what it was doing.
// The classic design of Apache's and uWSGI's scoreboards.
//
// One writer (the worker's event loop) and one reader (the arbiter). Each slot is a
// seqlock: the writer makes `seq` odd, writes, makes it even; the reader retries a
// slot whose `seq` was odd or changed while it copied.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "pulse_scoreboard.h"

#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

struct pulse_slot {
    uint64_t seq;
    uint64_t started_ns;
    uint32_t length;
    char text[PULSE_SCOREBOARD_TEXT];
};

_Static_assert(sizeof(struct pulse_slot) * PULSE_SCOREBOARD_SLOTS <= PULSE_SCOREBOARD_SIZE, "the slots fit");

int pulse_scoreboard_create(void) {
    int fd = memfd_create("pulse-scoreboard", MFD_CLOEXEC);
    if (fd < 0) return -1;
    if (ftruncate(fd, PULSE_SCOREBOARD_SIZE) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

void *pulse_scoreboard_map(int fd) {
    void *board = mmap(NULL, PULSE_SCOREBOARD_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    return board == MAP_FAILED ? NULL : board;
}

void pulse_scoreboard_unmap(void *board) {
    if (board) munmap(board, PULSE_SCOREBOARD_SIZE);
}

uint64_t pulse_monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

int pulse_scoreboard_begin(void *board, const char *text, size_t length) {
    struct pulse_slot *slots = board;
    if (!board) return -1;
    for (int index = 0; index < PULSE_SCOREBOARD_SLOTS; index++) {
        struct pulse_slot *slot = &slots[index];
        if (__atomic_load_n(&slot->started_ns, __ATOMIC_RELAXED) != 0) continue;
        uint64_t seq = __atomic_load_n(&slot->seq, __ATOMIC_RELAXED);
        __atomic_store_n(&slot->seq, seq + 1, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_RELEASE);
        size_t kept = length < PULSE_SCOREBOARD_TEXT ? length : PULSE_SCOREBOARD_TEXT;
        memcpy(slot->text, text, kept);
        slot->length = (uint32_t)kept;
        __atomic_store_n(&slot->started_ns, pulse_monotonic_ns(), __ATOMIC_RELAXED);
        __atomic_store_n(&slot->seq, seq + 2, __ATOMIC_RELEASE);
        return index;
    }
    return -1;
}

void pulse_scoreboard_end(void *board, int index) {
    struct pulse_slot *slots = board;
    if (!board || index < 0 || index >= PULSE_SCOREBOARD_SLOTS) return;
    struct pulse_slot *slot = &slots[index];
    uint64_t seq = __atomic_load_n(&slot->seq, __ATOMIC_RELAXED);
    __atomic_store_n(&slot->seq, seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&slot->started_ns, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&slot->seq, seq + 2, __ATOMIC_RELEASE);
}

int pulse_scoreboard_read(const void *board, int index, uint64_t *started_ns, char *text, size_t capacity) {
    const struct pulse_slot *slots = board;
    if (!board || index < 0 || index >= PULSE_SCOREBOARD_SLOTS) return -1;
    const struct pulse_slot *slot = &slots[index];
    for (int attempt = 0; attempt < 100; attempt++) {
        uint64_t before = __atomic_load_n(&slot->seq, __ATOMIC_ACQUIRE);
        if (before & 1) continue;
        uint64_t started = __atomic_load_n(&slot->started_ns, __ATOMIC_RELAXED);
        uint32_t length = slot->length;
        if (length > PULSE_SCOREBOARD_TEXT) length = PULSE_SCOREBOARD_TEXT;
        size_t copied = length < capacity ? length : capacity;
        memcpy(text, slot->text, copied);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&slot->seq, __ATOMIC_RELAXED) != before) continue;
        if (started == 0) return -1;
        *started_ns = started;
        return (int)copied;
    }
    return -1;
}
