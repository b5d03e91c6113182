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

    /// Reads one request line. A line that is not a command at all, or names a bad
    /// argument, becomes the refusal the client reads.
    public static func decodeCommand(from bytes: some Collection<UInt8>) -> Result<ControlCommand, ControlCommandError> {
        do {
            return .success(try decode(ControlCommand.self, from: bytes))
        } catch let error as ControlCommandError {
            return .failure(error)
        } catch {
            return .failure(ControlCommandError("malformed request: expected one JSON object per line"))
        }
    }
}
