import Foundation
import Glibc
import Mailbox

/// One answered request, as the access log writes it.
struct AccessRecord: Sendable {
    var remote: String
    var method: String
    var target: String
    var version: String
    var referer: String?
    var userAgent: String?
    var status = 0
    var bytes = 0
    var seconds = 0.0
    var time = Date()
    var worker = ""
}

/// `--access-log-format`: Apache's `common` and `combined`, or one JSON object per line.
enum AccessLogFormat: String, CaseIterable, Sendable {
    case common, combined, json

    func line(_ record: AccessRecord) -> String {
        switch self {
        case .common:
            return commonPart(record)
        case .combined:
            return commonPart(record) + " \"\(Self.escape(record.referer ?? "-"))\" \"\(Self.escape(record.userAgent ?? "-"))\""
        case .json:
            var object: [String: AccessValue] = [
                "time": .string(LogTime.iso8601(record.time)), "remote": .string(record.remote), "method": .string(record.method),
                "path": .string(record.target), "protocol": .string(record.version), "status": .number(Double(record.status)),
                "bytes": .number(Double(record.bytes)), "duration_ms": .number((record.seconds * 1_000_000).rounded() / 1000),
                "worker": .string(record.worker),
            ]
            if let referer = record.referer { object["referer"] = .string(referer) }
            if let userAgent = record.userAgent { object["user_agent"] = .string(userAgent) }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return (try? String(decoding: encoder.encode(object), as: UTF8.self)) ?? "{}"
        }
    }

    /// `127.0.0.1 - - [01/Dec/2026:07:20:01 +0000] "GET /hello HTTP/1.1" 200 13`
    private func commonPart(_ record: AccessRecord) -> String {
        let request = Self.escape("\(record.method) \(record.target) \(record.version)")
        return "\(Self.escape(record.remote)) - - [\(Self.clfTime(record.time))] \"\(request)\" \(record.status) \(record.bytes == 0 ? "-" : String(record.bytes))"
    }

    /// What a client sent goes into the line escaped as nginx does (`"` and `\`
    /// backslashed, other bytes outside printable ASCII as `\xHH`), so no request
    /// can forge a line or a field of its own.
    static func escape(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += "\\\""
            case UInt8(ascii: "\\"): out += "\\\\"
            case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(byte))
            default: out += String(format: "\\x%02X", byte)
            }
        }
        return out
    }

    static func clfTime(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return String(format: "%02d/%@/%04d:%02d:%02d:%02d +0000", parts.tm_mday, months[Int(parts.tm_mon) % 12],
                      parts.tm_year + 1900, parts.tm_hour, parts.tm_min, parts.tm_sec)
    }
}

/// A JSON value of the access log: strings are escaped by the encoder.
private enum AccessValue: Encodable {
    case string(String)
    case number(Double)

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let text): try container.encode(text)
        case .number(let value):
            if value == value.rounded(), abs(value) < 1e15 { try container.encode(Int64(value)) } else { try container.encode(value) }
        }
    }
}

/// Where a worker writes its access lines: `--access-log PATH` (opened for
/// appending; every worker appends whole lines, as gunicorn's do; reopened when
/// the arbiter passes on a SIGUSR1), or `-`, the merged log through the worker's
/// stdout, tagged with its name by the arbiter. Confined to the worker's loop.
final class AccessLog {
    let format: AccessLogFormat
    private let path: String?
    private var fd: Int32

    init?(destination: String?, format: String) {
        guard let destination, let format = AccessLogFormat(rawValue: format) else { return nil }
        self.format = format
        path = destination == "-" ? nil : destination
        fd = path.map { open($0, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644) } ?? 1
    }

    deinit { if path != nil, fd >= 0 { close(fd) } }

    func write(_ record: AccessRecord) {
        // To the merged log as an info line of this worker; to a file as it is.
        let line = (path == nil ? "[info] " : "") + format.line(record) + "\n"
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { _ = Glibc.write(fd, $0.baseAddress, $0.count) }
    }

    /// Opens the file again by its name (after logrotate moved it).
    func reopen() {
        guard let path else { return }
        let fresh = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fresh >= 0 else { return }
        if fd >= 0 { close(fd) }
        fd = fresh
    }
}
