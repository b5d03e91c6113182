#include "CPulseSystem.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/// The longest number text Redis reads as a long double (MAX_LONG_DOUBLE_CHARS).
enum { long_double_chars = 5 * 1024 };

/// Copies a number's bytes into `buffer`, terminated: strtod needs that, and the bytes
/// of a RESP bulk string are not. 0 for an empty text or one too long to be a number.
static int terminated(const char *text, size_t length, char buffer[long_double_chars]) {
    if (length == 0 || length >= long_double_chars) return 0;
    memcpy(buffer, text, length);
    buffer[length] = '\0';
    return 1;
}

int pulse_parse_double(const char *text, size_t length, double *value) {
    char buffer[long_double_chars];
    if (!terminated(text, length, buffer)) return 0;
    char *end;
    errno = 0;
    double parsed = strtod(buffer, &end);
    if (isspace((unsigned char)buffer[0]) || (size_t)(end - buffer) != length || isnan(parsed)) return 0;
    if (errno == ERANGE && (parsed == HUGE_VAL || parsed == -HUGE_VAL || fpclassify(parsed) == FP_ZERO)) return 0;
    *value = parsed;
    return 1;
}

int pulse_format_score(double value, char *out, size_t size) {
    int written = isinf(value) ? snprintf(out, size, "%s", value > 0 ? "inf" : "-inf")
                               : snprintf(out, size, "%.17g", value);
    return written < 0 || (size_t)written >= size ? -1 : written;
}

/// Redis's string2ld: as pulse_parse_double, in long double, where 1e400 is a number.
static int parse_long_double(const char *text, size_t length, long double *value) {
    char buffer[long_double_chars];
    if (!terminated(text, length, buffer)) return 0;
    char *end;
    errno = 0;
    long double parsed = strtold(buffer, &end);
    if (isspace((unsigned char)buffer[0]) || (size_t)(end - buffer) != length || isnan(parsed)) return 0;
    if (errno == ERANGE && (parsed == HUGE_VALL || parsed == -HUGE_VALL || fpclassify(parsed) == FP_ZERO)) return 0;
    if (errno == EINVAL) return 0;
    *value = parsed;
    return 1;
}

long pulse_increment_float(const char *current, size_t current_length,
                           const char *increment, size_t increment_length,
                           int finite_increment, char *out, size_t size) {
    long double base = 0, amount;
    if (current != NULL && !parse_long_double(current, current_length, &base)) return -1;
    if (!parse_long_double(increment, increment_length, &amount)) return -2;
    if (finite_increment && isinf(amount)) return -3;
    long double sum = base + amount;
    if (isnan(sum) || isinf(sum)) return -4;
    int written = snprintf(out, size, "%.17Lf", sum);
    if (written < 0 || (size_t)written >= size) return -5;
    long length = written;
    if (strchr(out, '.') != NULL) {
        while (out[length - 1] == '0') length--;
        if (out[length - 1] == '.') length--;
    }
    if (length == 2 && out[0] == '-' && out[1] == '0') { out[0] = '0'; length = 1; }
    out[length] = '\0';
    return length;
}

int pulse_blocking_timeout_ms(const char *text, size_t length, long long *milliseconds) {
    long double seconds;
    if (!parse_long_double(text, length, &seconds)) return 0;
    // As Redis 7.0 reads it: seconds to milliseconds in long double, rounded up; a
    // value past long long's range converts (on x86-64) to its minimum: "negative".
    long double rounded = ceill(seconds * 1000.0L);
    if (!(rounded < 9223372036854775808.0L) || rounded < 0) { *milliseconds = -1; return 1; }
    *milliseconds = (long long)rounded;
    return 1;
}
