import Foundation
import Yams

/// `--config FILE` and `PULSE_*` variables: every flag of `pulse` from a YAML file
/// and from the environment, the command line first, then the environment, then
/// the file.
///
/// Keys are the long flags without their dashes (`workers: 4`, `max-requests: 1000`,
/// `max_requests` also reads); a repeatable flag takes a list (`bind: [":8060",
/// "unix:/run/app.sock"]`) and `no-dashboard: true` is the flag itself. A variable is
/// the key in capitals with underscores (`PULSE_MAX_REQUESTS=1000`; lists are
/// comma-separated). Each value is checked by the command line's own rules, one at a
/// time, so a bad one is reported with the file (or variable) and key that hold it.
struct ConfigLayers {
    enum Kind { case option, list, flag }

    /// Every flag of `pulse serve` that a file or the environment may set.
    static let keys: [String: Kind] = [
        "bind": .list, "workers": .option, "autoscale": .option, "timeout": .option, "graceful-timeout": .option, "max-requests": .option,
        "max-requests-jitter": .option, "max-worker-memory": .option, "keep-alive": .option, "thread-workers": .option,
        "greenlet": .option, "mode": .option, "max-queue": .option, "max-body": .option, "header-timeout": .option,
        "websocket-ping": .option, "websocket-deflate": .flag, "data-store": .option, "ds-password": .option, "ds-file": .option, "ds-save": .list,
        "database": .option, "db-pool": .option, "forwarded-allow-ips": .option, "metrics": .option, "pidfile": .option,
        "control": .option, "log-file": .option, "access-log": .option, "access-log-format": .option,
        "log-level": .option, "no-dashboard": .flag, "layout": .option,
    ]
    /// Short spellings on the command line.
    static let shortNames = ["bind": "-b", "workers": "-w"]

    /// One source's settings: key, values, and where they came from for errors.
    struct Setting: Equatable {
        let key: String
        let values: [String]
        let origin: String
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Reads a YAML mapping of keys to values.
    static func file(_ path: String) throws(Failure) -> [Setting] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw Failure(description: "--config: cannot read \(path): \(error.localizedDescription)")
        }
        let loaded: Any?
        do { loaded = try Yams.load(yaml: text, resolver) } catch {
            throw Failure(description: "\(path): not valid YAML: \(error)")
        }
        guard let loaded else { return [] }
        guard let mapping = loaded as? [String: Any] else {
            throw Failure(description: "\(path): expected a mapping of flags to values, such as `workers: 4`")
        }
        var settings: [Setting] = []
        for (rawKey, value) in mapping.sorted(by: { $0.key < $1.key }) {
            let key = rawKey.replacingOccurrences(of: "_", with: "-")
            let origin = "\(path): key '\(rawKey)'"
            guard let kind = keys[key] else {
                throw Failure(description: "\(path): unknown key '\(rawKey)'; keys are the long flags: \(keys.keys.sorted().joined(separator: ", "))")
            }
            let values: [String]
            switch (kind, value) {
            case (.flag, let on as Bool): values = on ? [] : ["false"]
            case (.flag, _): throw Failure(description: "\(origin): expected true or false")
            case (.list, let list as [Any]):
                var items: [String] = []
                for item in list { items.append(try scalar(item, origin: origin)) }
                values = items
            case (_, let list as [Any]) where kind == .option:
                throw Failure(description: "\(origin): expected one value, not a list of \(list.count)")
            default: values = [try scalar(value, origin: origin)]
            }
            settings.append(Setting(key: key, values: values, origin: origin))
        }
        return settings
    }

    /// YAML 1.1 reads `1:4` as a number in base 60 (64); here it stays the text
    /// the flag takes (`autoscale: 1:4`). The other integer forms read as before.
    private static let resolver = (try? Resolver.default.replacing(
        .int, with: #"^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"#)) ?? .default

    private static func scalar(_ value: Any, origin: String) throws(Failure) -> String {
        switch value {
        case let text as String: return text
        case let number as Int: return String(number)
        case let number as Double: return String(number)
        case let flag as Bool: return String(flag)
        default: throw Failure(description: "\(origin): expected a value such as 4, 2.5 or \"text\"")
        }
    }

    /// `PULSE_WORKERS=4`, `PULSE_BIND=:8060,:8070`, `PULSE_NO_DASHBOARD=1`.
    static func environment(_ variables: [String: String]) throws(Failure) -> [Setting] {
        var settings: [Setting] = []
        for (name, value) in variables.sorted(by: { $0.key < $1.key }) where name.hasPrefix("PULSE_") {
            let key = name.dropFirst("PULSE_".count).lowercased().replacingOccurrences(of: "_", with: "-")
            // PULSE_WORKER is the arbiter's hand-over to a worker, not a setting.
            guard let kind = keys[key] else { continue }
            let origin = "environment variable \(name)"
            switch kind {
            case .flag:
                guard ["1", "true", "yes", "0", "false", "no", ""].contains(value.lowercased()) else {
                    throw Failure(description: "\(origin): expected 1 or 0")
                }
                settings.append(Setting(key: key, values: ["1", "true", "yes"].contains(value.lowercased()) ? [] : ["false"], origin: origin))
            case .list:
                settings.append(Setting(key: key, values: value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }, origin: origin))
            case .option:
                settings.append(Setting(key: key, values: [value], origin: origin))
            }
        }
        return settings
    }

    /// Whether the command line sets `key` itself.
    static func commandLine(_ arguments: [String], sets key: String) -> Bool {
        let long = "--" + key
        return arguments.contains { argument in
            argument == long || argument.hasPrefix(long + "=") || shortNames[key].map { argument.hasPrefix($0) } == true
        }
    }

    /// The arguments the layers add in front of the command line: each key from the
    /// first layer that sets it (environment before file), unless the command line does.
    static func arguments(commandLine given: [String], environment: [Setting], file: [Setting]) -> [(arguments: [String], origin: String)] {
        var taken = Set<String>()
        var result: [(arguments: [String], origin: String)] = []
        for setting in environment + file where !taken.contains(setting.key) {
            taken.insert(setting.key)
            guard !commandLine(given, sets: setting.key) else { continue }
            switch keys[setting.key] {
            case .flag?:
                if setting.values.isEmpty { result.append((["--" + setting.key], setting.origin)) }
            default:
                result.append((setting.values.flatMap { ["--" + setting.key, $0] }, setting.origin))
            }
        }
        return result
    }
}
