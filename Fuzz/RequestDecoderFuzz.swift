// libFuzzer entry point for the HTTP request decoder: the input (after its first
// byte) is what a client sends. It is decoded whole, split in two where the first
// byte says, and (when short) a byte at a time; the three must agree, part for
// part and error for error. Any trap is a bug: no input may crash the worker.
// Built by scripts/fuzz-http with `swiftc -sanitize=fuzzer` beside the decoder's
// sources; small limits, so that the fuzzer reaches them.
import NIOCore
import NIOHTTP1

/// What came out: the parts, adjacent body pieces joined, and the error.
struct FuzzOutcome: Equatable {
    var heads: [HTTPRequestHead] = []
    var bodies: [[UInt8]] = []
    var trailers: [HTTPHeaders?] = []
    var error: RequestDecodingError?
}

func decodeForFuzzing(_ pieces: [ArraySlice<UInt8>]) -> FuzzOutcome {
    let decoder = RequestDecoder(limits: RequestDecoder.Limits(requestLine: 96, head: 512, chunkLine: 32))
    var buffer = ByteBuffer()
    var outcome = FuzzOutcome()
    var body: [UInt8] = []
    for piece in pieces {
        buffer.writeBytes(piece)
        do {
            while case .continue = try decoder.step(buffer: &buffer, emit: { part in
                switch part {
                case .head(let head): outcome.heads.append(head)
                case .body(let bytes): body += bytes.readableBytesView
                case .end(let trailers):
                    outcome.bodies.append(body)
                    body = []
                    outcome.trailers.append(trailers)
                }
            }) {}
        } catch {
            outcome.error = error
            break
        }
    }
    outcome.bodies.append(body)
    return outcome
}

@_cdecl("LLVMFuzzerTestOneInput")
public func requestDecoderFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let input = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let whole = decodeForFuzzing([input[...]])
    let split = Int(data[0]) * input.count / 255
    precondition(decodeForFuzzing([input[..<split], input[split...]]) == whole, "a split at \(split) decodes differently")
    if input.count <= 512 {
        precondition(decodeForFuzzing(input.map { [$0][...] }) == whole, "a byte at a time decodes differently")
    }
    return 0
}
