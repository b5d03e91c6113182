import Foundation
@testable import Server
import Testing

@Suite struct AccessLogFormatTests {
    let record = AccessRecord(remote: "10.0.0.7", method: "GET", target: "/items?id=3", version: "HTTP/1.1",
                              referer: "https://example.com/", userAgent: "curl/8.5", status: 200, bytes: 512,
                              seconds: 0.012345, time: Date(timeIntervalSince1970: 1_795_000_000.25), worker: "web.2")

    @Test func commonAndCombinedAreApachesFormats() {
        #expect(AccessLogFormat.common.line(record) == #"10.0.0.7 - - [18/Nov/2026:11:06:40 +0000] "GET /items?id=3 HTTP/1.1" 200 512"#)
        #expect(AccessLogFormat.combined.line(record)
                == #"10.0.0.7 - - [18/Nov/2026:11:06:40 +0000] "GET /items?id=3 HTTP/1.1" 200 512 "https://example.com/" "curl/8.5""#)
        var empty = record
        (empty.bytes, empty.referer, empty.userAgent) = (0, nil, nil)
        #expect(AccessLogFormat.combined.line(empty).hasSuffix(#"200 - "-" "-""#))
    }

    @Test func jsonHasEveryField() throws {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(AccessLogFormat.json.line(record).utf8)) as? [String: Any])
        #expect(object["time"] as? String == "2026-11-18T11:06:40.250Z")
        #expect(object["remote"] as? String == "10.0.0.7" && object["method"] as? String == "GET")
        #expect(object["path"] as? String == "/items?id=3" && object["protocol"] as? String == "HTTP/1.1")
        #expect(object["status"] as? Int == 200 && object["bytes"] as? Int == 512)
        #expect(object["duration_ms"] as? Double == 12.345 && object["worker"] as? String == "web.2")
        #expect(object["referer"] as? String == "https://example.com/" && object["user_agent"] as? String == "curl/8.5")
    }

    /// A client cannot forge a line or a field: quotes, backslashes, control bytes
    /// and non-ASCII are escaped as nginx does; JSON escapes its own way.
    @Test func whatTheClientSentIsEscaped() throws {
        var hostile = record
        hostile.target = "/a\"b\\c\nd\u{1b}é"
        hostile.userAgent = "x\" 500 \"forged"
        let line = AccessLogFormat.combined.line(hostile)
        #expect(line.contains(#""GET /a\"b\\c\x0Ad\x1B\xC3\xA9 HTTP/1.1""#), "\(line)")
        #expect(line.hasSuffix(#""x\" 500 \"forged""#))
        #expect(!line.contains("\n"))
        let json = AccessLogFormat.json.line(hostile)
        #expect(!json.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["path"] as? String == hostile.target)
    }
}
