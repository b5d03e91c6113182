import Foundation

/// JSON for the control socket: snake_case keys, one object per line.
public enum ControlCodec {
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = false) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        if pretty { encoder.outputFormatting = [.prettyPrinted, .sortedKeys] }
        var bytes = Array(try encoder.encode(value))
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(type, from: Data(bytes))
    }

    /// A command and its origin as one line.
    public static func encode(_ command: ControlCommand, origin: String?) throws -> [UInt8] {
        var line = try encode(command)
        guard let origin else { return line }
        // `{"command":...}\n` becomes `{"command":...,"origin":"..."}\n`.
        line.removeLast(2)
        line += Array(",\"origin\":".utf8) + Array(try JSONEncoder().encode(origin)) + Array("}\n".utf8)
        return line
    }

    /// Reads one request line and who sent it. A line that is not a command at all,
    /// or names a bad argument, becomes the refusal the client reads.
    public static func decodeCommand(from bytes: some Collection<UInt8>) -> Result<(ControlCommand, origin: String), ControlCommandError> {
        do {
            let command = try decode(ControlCommand.self, from: bytes)
            let origin = (try? decode(ControlOrigin.self, from: bytes))?.origin?.prefix(40)
            return .success((command, origin.map(String.init) ?? ControlOrigin.unnamed))
        } catch let error as ControlCommandError {
            return .failure(error)
        } catch {
            return .failure(ControlCommandError("malformed request: expected one JSON object per line"))
        }
    }
}
