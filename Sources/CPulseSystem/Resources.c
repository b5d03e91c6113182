#include "CPulseSystem.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/// The value of `name="..."`'s size attribute in the last `<TAG type="TYPE" ...>` of malloc_info's
/// text: the summary for all arenas comes after the per-arena lines.
static size_t last_size(const char *text, const char *tag) {
    size_t value = 0;
    for (const char *at = strstr(text, tag); at != NULL; at = strstr(at + 1, tag)) {
        const char *size = strstr(at, "size=\"");
        if (size != NULL) value = strtoull(size + 6, NULL, 10);
    }
    return value;
}

size_t pulse_heap_in_use(void) {
    // mallinfo2 sees only the main arena; threads allocate in others. malloc_info
    // reports them all: memory taken from the system less the free chunks, plus mmaps.
    char *text = NULL;
    size_t length = 0;
    FILE *stream = open_memstream(&text, &length);
    if (stream == NULL) return 0;
    int failed = malloc_info(0, stream);
    fclose(stream);
    size_t used = 0;
    if (!failed && text != NULL) {
        size_t system = last_size(text, "<system type=\"current\"");
        size_t free_fast = last_size(text, "<total type=\"fast\"");
        size_t free_rest = last_size(text, "<total type=\"rest\"");
        size_t mapped = last_size(text, "<total type=\"mmap\"");
        size_t free_bytes = free_fast + free_rest;
        used = (system > free_bytes ? system - free_bytes : 0) + mapped;
    }
    free(text);
    return used;
}

static double seconds(struct timeval value) { return (double)value.tv_sec + (double)value.tv_usec / 1e6; }

void pulse_cpu_seconds(double *user, double *system, double *children_user, double *children_system) {
    struct rusage self = {0}, children = {0};
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    *user = seconds(self.ru_utime);
    *system = seconds(self.ru_stime);
    *children_user = seconds(children.ru_utime);
    *children_system = seconds(children.ru_stime);
}
