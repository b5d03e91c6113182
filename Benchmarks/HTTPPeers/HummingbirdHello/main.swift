// The peer for /hello: the same route under Hummingbird 2's own Application, one
// process, one event loop thread (as one pulse worker has). Usage: HummingbirdHello PORT
import Hummingbird
import NIOPosix

let port = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 8071
let router = Router()
router.get("/hello") { _, _ in "Hello World!\n" }
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
                      eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup(numberOfThreads: 1)))
try await app.runService()
