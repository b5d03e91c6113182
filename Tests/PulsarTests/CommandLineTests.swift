@testable import Pulsar
import Testing

@Suite struct CommandLineTests {
    @Test func bareGreenletTakesPulsarsDefault() {
        #expect(withGreenletDefault(["-w", "4", "--greenlet"]) == ["-w", "4", "--greenlet", "100"])
        #expect(withGreenletDefault(["--greenlet", "-w", "4"]) == ["--greenlet", "100", "-w", "4"])
        #expect(withGreenletDefault(["--greenlet", "200"]) == ["--greenlet", "200"])
        #expect(withGreenletDefault(["--greenlet=50"]) == ["--greenlet=50"])
    }

    @Test func byteCounts() {
        #expect(parseByteCount("1048576") == 1_048_576)
        #expect(parseByteCount("512K") == 512 * 1024)
        #expect(parseByteCount("10m") == 10 * 1024 * 1024)
        #expect(parseByteCount("1G") == 1 << 30)
        #expect(parseByteCount("-1") == nil)
        #expect(parseByteCount("lots") == nil)
    }

    @Test func autoscaleTakesBoundsAndRefusesBadOnesByName() throws {
        #expect(try Serve.parse(["--autoscale", "1:4"]).autoscaleBounds?.description == "1:4")
        #expect(try Serve.parse([]).autoscaleBounds == nil)
        for bad in ["3:1", "0:2", "1:1025", "one:two", "4"] {
            do {
                _ = try Serve.parse(["--autoscale", bad])
                Issue.record("--autoscale \(bad) was accepted")
            } catch {
                #expect(Serve.message(for: error).contains("--autoscale must be MIN:MAX"), "\(bad): \(Serve.message(for: error))")
            }
        }
    }
}
