@testable import DataStore
import NIOCore
import Testing

@Suite struct RESPParserTests {
    let parser = RESPRequestParser(maxBulkLength: 1024, maxArgumentCount: 8)

    func strings(_ arguments: [[UInt8]]?) -> [String]? { arguments?.map { String(decoding: $0, as: UTF8.self) } }

    @Test func readsPipelinedRequestsAcrossFragments() throws {
        var buffer = ByteBuffer(string: "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*1\r\n$4\r\nPI")
        #expect(strings(try parser.next(&buffer)) == ["GET", "a"])
        #expect(try parser.next(&buffer) == nil)
        buffer.writeString("NG\r\n")
        #expect(strings(try parser.next(&buffer)) == ["PING"])
        #expect(buffer.readableBytes == 0)
    }

    @Test func bulkStringsAreBinarySafe() throws {
        var buffer = ByteBuffer(string: "*2\r\n$4\r\nECHO\r\n$5\r\n")
        buffer.writeBytes([0, 13, 10, 255, 1])
        buffer.writeString("\r\n")
        #expect(try parser.next(&buffer)?[1] == [0, 13, 10, 255, 1])
    }

    @Test func inlineCommandsAsTyped() throws {
        var buffer = ByteBuffer(string: "set  greeting hello\r\nPING\n")
        #expect(strings(try parser.next(&buffer)) == ["set", "greeting", "hello"])
        #expect(strings(try parser.next(&buffer)) == ["PING"])
    }

    /// Headers the one-pass reader leaves to the long way (a leading zero, a plus,
    /// a bare LF, a 19-digit length) are read as before; a name a connection repeats
    /// is the same array, not a new copy.
    @Test func oddHeadersReadAlikeAndRepeatedNamesAreShared() throws {
        var odd = ByteBuffer(string: "*02\r\n$03\r\nGET\r\n$+1\r\na\r\n*1\n$4\nPING\r\n*1\r\n$0\r\n\r\n*0\r\n")
        #expect(strings(try parser.next(&odd)) == ["GET", "a"])
        #expect(strings(try parser.next(&odd)) == ["PING"])
        #expect(strings(try parser.next(&odd)) == [""])
        #expect(strings(try parser.next(&odd)) == [])
        var long = ByteBuffer(string: "*1\r\n$1000000000000000000\r\n")
        #expect(throws: RESPProtocolError("Protocol error: invalid bulk length")) { try parser.next(&long) }

        var names = CommandNames()
        var pipeline = ByteBuffer(string: "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\n*2\r\n$3\r\nget\r\n$1\r\nc\r\n")
        let requests = try (0..<3).map { _ in try #require(try parser.next(&pipeline, names: &names)) }
        let storage = requests.map { $0.name?.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } }
        #expect(storage[0] == storage[1], "GET twice: one array")
        #expect(storage[0] != storage[2], "get is another spelling")
        #expect(requests.map { strings($0.arguments) } == [["a"], ["b"], ["c"]])
        #expect(requests.map { $0.name.map { String(decoding: $0, as: UTF8.self) } } == ["GET", "GET", "get"])

        // A name longer than any command is not kept: its copy goes with its request.
        let longName = String(repeating: "x", count: CommandNames.longestKept + 1)
        var twice = ByteBuffer(string: "*1\r\n$\(longName.count)\r\n\(longName)\r\n*1\r\n$\(longName.count)\r\n\(longName)\r\n")
        let longNames = try (0..<2).map { _ in try #require(try parser.next(&twice, names: &names)?.name) }
        #expect(longNames.allSatisfy { $0.count == longName.count })
        let longStorage = longNames.map { $0.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } }
        #expect(longStorage[0] != longStorage[1], "a long name was kept")
    }

    @Test func refusesHugeDeclaredLengthsBeforeReadingThem() {
        var bulk = ByteBuffer(string: "*1\r\n$999999999\r\n")
        #expect(throws: RESPProtocolError("Protocol error: invalid bulk length")) { try parser.next(&bulk) }
        var count = ByteBuffer(string: "*100000\r\n")
        #expect(throws: RESPProtocolError("Protocol error: invalid multibulk length")) { try parser.next(&count) }
        var negative = ByteBuffer(string: "*1\r\n$-5\r\n")
        #expect(throws: RESPProtocolError.self) { try parser.next(&negative) }
        var wrongType = ByteBuffer(string: "*1\r\n:5\r\n")
        #expect(throws: RESPProtocolError.self) { try parser.next(&wrongType) }
        var noTerminator = ByteBuffer(string: "*1\r\n$3\r\nabcXY")
        #expect(throws: RESPProtocolError.self) { try parser.next(&noTerminator) }
        var endless = ByteBuffer(string: String(repeating: "x", count: 70_000))
        #expect(throws: RESPProtocolError.self) { try RESPRequestParser().next(&endless) }
    }

    @Test func writesEveryValueKind() {
        var buffer = ByteBuffer()
        let values: [RESPValue] = [.ok, .error("ERR x"), .integer(-3), .bulk("hi"), .null, .array([.integer(1), .bulk("a")]), .array(nil)]
        for value in values { value.write(to: &buffer) }
        #expect(String(buffer: buffer) == "+OK\r\n-ERR x\r\n:-3\r\n$2\r\nhi\r\n$-1\r\n*2\r\n:1\r\n$1\r\na\r\n*-1\r\n")
    }

    @Test func globsLikeRedis() {
        let cases: [(String, String, Bool)] = [
            ("*", "anything", true), ("h?llo", "hello", true), ("h?llo", "hllo", false), ("h*llo", "heeeello", true),
            ("h[ae]llo", "hallo", true), ("h[ae]llo", "hillo", false), ("h[^e]llo", "hallo", true), ("h[^e]llo", "hello", false),
            ("h[a-b]llo", "hbllo", true), ("user:*:name", "user:42:name", true), ("a\\*b", "a*b", true), ("a\\*b", "axb", false),
            ("*chat*", "webchat", true), ("", "", true), ("a", "", false),
        ]
        for (pattern, text, expected) in cases {
            #expect(Glob.matches(Array(pattern.utf8), Array(text.utf8)) == expected, "\(pattern) ~ \(text)")
        }
    }

    /// Each reply kind in RESP2 and in RESP3, as Redis 7.0 writes them.
    @Test(arguments: [
        (RESPValue.double(2.5), "$3\r\n2.5\r\n", ",2.5\r\n"),
        (.double(-.infinity), "$4\r\n-inf\r\n", ",-inf\r\n"),
        (.double(0.1), "$19\r\n0.10000000000000001\r\n", ",0.10000000000000001\r\n"),
        (.null, "$-1\r\n", "_\r\n"),
        (.array(nil), "*-1\r\n", "_\r\n"),
        (.map([.bulk("f"), .integer(1)]), "*2\r\n$1\r\nf\r\n:1\r\n", "%1\r\n$1\r\nf\r\n:1\r\n"),
        (.set([.bulk("a")]), "*1\r\n$1\r\na\r\n", "~1\r\n$1\r\na\r\n"),
        (.push([.bulk("m")]), "*1\r\n$1\r\nm\r\n", ">1\r\n$1\r\nm\r\n"),
        (.verbatim("hi\n"), "$3\r\nhi\n\r\n", "=7\r\ntxt:hi\n\r\n"),
        (.pairs([.bulk("a"), .double(1), .bulk("b"), .double(2)]), "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n",
         "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n"),
        (.array([.map([]), .set([])]), "*2\r\n*0\r\n*0\r\n", "*2\r\n%0\r\n~0\r\n"),
    ])
    func repliesAreWrittenInTheClientsProtocol(value: RESPValue, resp2: String, resp3: String) {
        var (two, three) = (ByteBuffer(), ByteBuffer())
        value.write(to: &two)
        value.write(to: &three, resp3: true)
        #expect(String(buffer: two) == resp2)
        #expect(String(buffer: three) == resp3)
    }

    /// Reply headers are written digit by digit: the ends of 64 bits and the one-digit edge.
    @Test(arguments: [0, 9, 10, -1, -10, 1234567890, Int.max, Int.min])
    func integersAreWrittenAsSwiftPrintsThem(_ value: Int) {
        var buffer = ByteBuffer()
        RESPValue.integer(value).write(to: &buffer)
        RESPValue.bulkString(Array(repeating: 1, count: abs(value % 1000))).write(to: &buffer)
        let expected = ":\(value)\r\n$\(abs(value % 1000))\r\n"
        #expect(buffer.getString(at: 0, length: expected.utf8.count) == expected)
    }

    /// Lengths and counts are read as Swift's Int(String) reads them, one past either end failing.
    @Test func headerNumbersStopAtTheEndsOf64Bits() throws {
        #expect(RESPRequestParser.integer(Array("9223372036854775807".utf8)) == Int.max)
        #expect(RESPRequestParser.integer(Array("-9223372036854775808".utf8)) == Int.min)
        #expect(RESPRequestParser.integer(Array("9223372036854775808".utf8)) == nil)
        #expect(RESPRequestParser.integer(Array("-9223372036854775809".utf8)) == nil)
        for text in ["", "+", "-", "1 ", " 1", "1a", "0x1", "١"] {
            #expect(RESPRequestParser.integer(Array(text.utf8)) == nil, "\(text)")
        }
        #expect(RESPRequestParser.integer(Array("+12".utf8)) == 12 && RESPRequestParser.integer(Array("-0".utf8)) == 0)
        for value in [0, 7, -7, 10, -10, 99, 100, Int.max, Int.min] {
            #expect(Commands.decimal(value) == Array(String(value).utf8))
        }
    }
}
