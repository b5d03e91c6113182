import Mailbox
import Testing

@Suite struct BindTests {
    @Test func parsesTheForms() throws {
        #expect(try Bind(parsing: "127.0.0.1:8060") == .tcp(host: "127.0.0.1", port: 8060))
        #expect(try Bind(parsing: ":8070") == .tcp(host: "0.0.0.0", port: 8070))
        #expect(try Bind(parsing: "8080") == .tcp(host: "127.0.0.1", port: 8080))
        #expect(try Bind(parsing: "[::1]:9000") == .tcp(host: "::1", port: 9000))
        #expect(try Bind(parsing: "unix:/tmp/p.sock") == .unix(path: "/tmp/p.sock"))
    }

    @Test func refusesNonsenseWithAReason() {
        #expect(throws: BindParseError.self) { try Bind(parsing: "localhost") }
        #expect(throws: BindParseError.self) { try Bind(parsing: "host:port") }
        #expect(throws: BindParseError.self) { try Bind(parsing: "host:70000") }
        #expect(throws: BindParseError.self) { try Bind(parsing: "unix:") }
        do {
            _ = try Bind(parsing: "1.2.3.4:99999")
            Issue.record("accepted an out-of-range port")
        } catch {
            #expect(error.description.contains("out of range"))
        }
    }

    @Test func printsAsItParses() throws {
        for text in ["127.0.0.1:8060", "[::1]:9000", "unix:/tmp/x.sock"] {
            #expect(try Bind(parsing: text).description == text)
        }
        #expect(try Bind(parsing: ":80").url == "http://127.0.0.1:80")
    }
}
