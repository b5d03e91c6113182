#if Vapor
import Pulsar

// Vapor and pulse both name a `Request`, a `Response` and a `Middleware`, and Vapor's
// `Server` protocol hides pulse's module of that name: this file sees pulse alone
// and names its types for the files that see both.
typealias PulseApp = App
typealias PulseRouter = Router
typealias PulseRequest = Request
typealias PulseResponse = Response
#endif
