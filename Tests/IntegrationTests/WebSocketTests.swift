import Arbiter
import PulseControl
import Foundation
import Glibc
import Testing

/// RFC 6455 against the real worker, with a client that can also misbehave.
@Suite(.blockingAllowed) struct WebSocketTests {
    @Test func echoesTextBinaryAndFragmentsAndClosesCleanly() async throws {
        let server = try PulseServer(arguments: ["-w", "1"])
        defer { server.shutdown() }
        try await server.waitForReady(1)
        let port = try server.port()
        try await onThread {
            let socket = try WebSocketProbe(port: port, path: "/ws/echo?name=ada")
            #expect(try socket.receiveSkippingPings().text == "hello ada")
            try socket.send(text: "ping me")
            #expect(try socket.receiveSkippingPings() == .init(fin: true, opcode: 0x1, payload: Array("ping me".utf8)))
            try socket.send(opcode: 0x2, [0, 1, 2, 255])
            #expect(try socket.receiveSkippingPings() == .init(fin: true, opcode: 0x2, payload: [0, 1, 2, 255]))
            try socket.send(opcode: 0x1, Array("frag".utf8), fin: false)
            try socket.send(opcode: 0x0, Array("men".utf8), fin: false)
            try socket.send(opcode: 0x0, Array("ted".utf8), fin: true)
            #expect(try socket.receiveSkippingPings().text == "fragmented")
            try socket.send(opcode: 0x9, Array("are you there".utf8))
            #expect(try socket.receive() == .init(fin: true, opcode: 0xA, payload: Array("are you there".utf8)))
            try socket.send(opcode: 0x8, [0x03, 0xE8])
            #expect(try socket.receiveSkippingPings().closeCode == 1000)
            #expect(socket.isClosedByPeer())
        }
    }

    @Test func oversizedMessagesClose1009AndBadFramesClose1002() async throws {
        let server = try PulseServer(arguments: ["-w", "1"])
        defer { server.shutdown() }
        let pid = try await server.waitForReady(1).services[0].workers[0].pid
        let port = try server.port()
        try await onThread {
            let big = try WebSocketProbe(port: port, path: "/ws/echo")
            _ = try big.receiveSkippingPings()
            try big.send(opcode: 0x2, [UInt8](repeating: 7, count: (1 << 20) + 1))
            #expect(try big.receiveSkippingPings().closeCode == 1009)

            let pieces = try WebSocketProbe(port: port, path: "/ws/echo")
            _ = try pieces.receiveSkippingPings()
            let half = [UInt8](repeating: 1, count: 600_000)
            try pieces.send(opcode: 0x2, half, fin: false)
            try pieces.send(opcode: 0x0, half, fin: true)
            #expect(try pieces.receiveSkippingPings().closeCode == 1009)

            let unmasked = try WebSocketProbe(port: port, path: "/ws/echo")
            _ = try unmasked.receiveSkippingPings()
            try unmasked.send(opcode: 0x1, Array("no mask".utf8), masked: false)
            #expect(try unmasked.receiveSkippingPings().closeCode == 1002)

            let reserved = try WebSocketProbe(port: port, path: "/ws/echo")
            _ = try reserved.receiveSkippingPings()
            try reserved.send(opcode: 0x3, Array("?".utf8))
            #expect(try reserved.receiveSkippingPings().closeCode == 1002)
        }
        let hello = try await onThread { try HTTPProbe.get(port: port, "/hello") }
        #expect(hello.status == 200)
        #expect(try server.workerPIDs() == [pid])
    }

    @Test func openSocketsAreCountedAndADrainingWorkerSays1001() async throws {
        let server = try PulseServer(arguments: ["-w", "1", "--graceful-timeout", "1"])
        defer { server.shutdown() }
        try await server.waitForReady(1)
        let port = try server.port()
        let first = try await onThread { try WebSocketProbe(port: port, path: "/ws/echo") }
        let second = try await onThread { try WebSocketProbe(port: port, path: "/ws/echo") }
        try await server.waitFor("2 websockets counted") { $0.services[0].workers[0].websockets == 2 }
        // The close comes after the new worker boots, which a loaded machine may take long over.
        for socket in [first, second] { socket.setReceiveTimeout(40) }
        #expect(try server.request(.reload(service: nil)).ok)
        let closes = try await onThread { () -> [Int?] in
            [try first.receiveAfterGreeting().closeCode, try second.receiveAfterGreeting().closeCode]
        }
        #expect(closes == [1001, 1001])
        try await server.waitFor("the new worker with no websockets") { status in
            status.services[0].workers.count == 1 && status.services[0].workers[0].state == .ready
                && status.services[0].workers[0].websockets == 0
        }
    }

    @Test func idleSocketsArePingedAndClosedWhenThePeerIsGone() async throws {
        // Pings every 2 s: an answering client whose thread a loaded machine holds back
        // for a moment still answers before the next one.
        let server = try PulseServer(arguments: ["-w", "1", "--websocket-ping", "2"])
        defer { server.shutdown() }
        try await server.waitForReady(1)
        let port = try server.port()
        try await onThread {
            let answering = try WebSocketProbe(port: port, path: "/ws/echo")
            answering.setReceiveTimeout(30)
            _ = try answering.receive()                                   // the greeting
            for _ in 0..<3 {
                let ping = try answering.receive()
                #expect(ping.opcode == 0x9)
                try answering.send(opcode: 0xA, ping.payload)
            }
            try answering.send(text: "still here")
            #expect(try answering.receiveSkippingPings().text == "still here")

            let silent = try WebSocketProbe(port: port, path: "/ws/echo")
            silent.setReceiveTimeout(30)
            _ = try silent.receive()
            #expect(try silent.receive().opcode == 0x9)                  // not answered
            #expect(try silent.receive().closeCode == 1001)
        }
    }

    @Test func thePulseDemoEchoes() async throws {
        let server = try PulseServer(binary: "pulse", arguments: ["-w", "1"])
        defer { server.shutdown() }
        try await server.waitForReady(1)
        let port = try server.port()
        try await onThread {
            let socket = try WebSocketProbe(port: port, path: "/ws/echo")
            try socket.send(text: "demo")
            #expect(try socket.receiveSkippingPings().text == "demo")
        }
        let plain = try await onThread { try HTTPProbe.get(port: port, "/ws/echo") }
        #expect(plain.status == 426)
    }
}

extension WebSocketProbe {
    /// The first frame after the test app's greeting, pings answered.
    func receiveAfterGreeting() throws -> Frame {
        var frame = try receiveSkippingPings()
        if frame.opcode == 0x1, frame.text.hasPrefix("hello") { frame = try receiveSkippingPings() }
        return frame
    }
}
