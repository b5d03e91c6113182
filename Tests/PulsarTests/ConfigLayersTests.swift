import Foundation
@testable import Pulsar
import Testing

@Suite struct ConfigLayersTests {
    func write(_ yaml: String) throws -> String {
        let path = NSTemporaryDirectory() + "pulse-config-\(UUID().uuidString).yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aFileGivesEachFlagItsValues() throws {
        let path = try write("""
            workers: 4
            max_requests: 1000
            timeout: 2.5
            bind: [":8060", "unix:/run/app.sock"]
            no-dashboard: true
            """)
        defer { unlink(path) }
        let settings = try ConfigLayers.file(path)
        #expect(settings.map(\.key) == ["bind", "max-requests", "no-dashboard", "timeout", "workers"])
        #expect(settings.first { $0.key == "bind" }?.values == [":8060", "unix:/run/app.sock"])
        #expect(settings.first { $0.key == "timeout" }?.values == ["2.5"])
        #expect(settings.first { $0.key == "no-dashboard" }?.values == [])
        #expect(settings.first { $0.key == "max-requests" }?.origin == "\(path): key 'max_requests'")
    }

    @Test func badFilesSayWhereAndWhat() throws {
        for (yaml, expected) in [("wrkers: 2", "unknown key 'wrkers'"), ("workers: [1, 2]", "key 'workers': expected one value"),
                                 ("- 1\n- 2", "expected a mapping"), ("workers: {a: 1}", "key 'workers': expected a value"),
                                 ("no-dashboard: 3", "key 'no-dashboard': expected true or false"), ("a: [", "not valid YAML")] {
            let path = try write(yaml)
            defer { unlink(path) }
            #expect(throws: ConfigLayers.Failure.self) { try ConfigLayers.file(path) }
            do { _ = try ConfigLayers.file(path) } catch { #expect(error.description.contains(expected), "\(yaml): \(error)") }
        }
        #expect(throws: ConfigLayers.Failure.self) { try ConfigLayers.file("/nonexistent/pulse.yaml") }
    }

    @Test func theEnvironmentUsesCapitalsAndCommas() throws {
        let settings = try ConfigLayers.environment(["PULSE_WORKERS": "3", "PULSE_BIND": ":8060, :8070", "PULSE_NO_DASHBOARD": "1",
                                                     "PULSE_WORKER": "{}", "PULSE_UNKNOWN": "x", "HOME": "/root"])
        #expect(settings.map(\.key) == ["bind", "no-dashboard", "workers"])
        #expect(settings[0].values == [":8060", ":8070"] && settings[0].origin == "environment variable PULSE_BIND")
        #expect(throws: ConfigLayers.Failure.self) { try ConfigLayers.environment(["PULSE_NO_DASHBOARD": "maybe"]) }
    }

    @Test func theCommandLineWinsThenTheEnvironmentThenTheFile() {
        let file = [ConfigLayers.Setting(key: "workers", values: ["4"], origin: "f"),
                    ConfigLayers.Setting(key: "timeout", values: ["9"], origin: "f"),
                    ConfigLayers.Setting(key: "bind", values: [":1", ":2"], origin: "f"),
                    ConfigLayers.Setting(key: "no-dashboard", values: [], origin: "f")]
        let environment = [ConfigLayers.Setting(key: "timeout", values: ["5"], origin: "e")]
        let layers = ConfigLayers.arguments(commandLine: ["-w", "2"], environment: environment, file: file)
        #expect(layers.map(\.arguments) == [["--timeout", "5"], ["--bind", ":1", "--bind", ":2"], ["--no-dashboard"]])
        #expect(ConfigLayers.arguments(commandLine: ["--bind=:9", "--workers", "1"], environment: [], file: file).map(\.arguments)
                == [["--timeout", "9"], ["--no-dashboard"]])
        #expect(ConfigLayers.arguments(commandLine: ["-b", ":9"], environment: [], file: file).count == 3)
    }

    /// YAML 1.1 would read `1:4` as a base-60 number; the file must give the flag its text.
    @Test func autoscaleBoundsReadFromAFileAsWritten() throws {
        let path = try write("autoscale: 1:4")
        defer { unlink(path) }
        #expect(try ConfigLayers.file(path).first?.values == ["1:4"])
        #expect(try ConfigLayers.environment(["PULSE_AUTOSCALE": "2:5"]).first?.values == ["2:5"])
    }
}
