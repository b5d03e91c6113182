import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Timestamps as the merged log and the JSON access log write them:
/// `2026-12-01T07:22:25.063Z`, UTC with milliseconds.
public enum LogTime {
    public static func iso8601(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = Int(date.timeIntervalSince1970 * 1000) % 1000
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1,
                      parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec, millis)
    }
}
