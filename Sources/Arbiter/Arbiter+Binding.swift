import Logging

/// The listening sockets of every service, bound once at start.
extension Arbiter {
    /// Binds every service's addresses, or takes the sockets systemd `passed` for it;
    /// or logs why not and returns nil.
    static func bindAll(_ configuration: ArbiterConfiguration, passed: [Int: [Int32]],
                                logger: Logger) -> [[ListeningSocket]]? {
        var listeners: [[ListeningSocket]] = []
        for (index, service) in configuration.services.enumerated() {
            var sockets: [ListeningSocket] = []
            if let fds = passed[index] {
                for fd in fds {
                    do {
                        sockets.append(try ListeningSocket.adopt(fd: fd))
                    } catch {
                        logger.critical("socket activation: fd \(fd) for service \(service.name): \(error)")
                        (listeners.joined() + sockets).forEach { $0.close() }
                        return nil
                    }
                }
                logger.info("service \(service.name): listening on \(fds.count) socket(s) passed by systemd instead of its addresses")
                listeners.append(sockets)
                continue
            }
            for (position, bind) in service.binds.enumerated() {
                do {
                    sockets.append(try ListeningSocket.bind(bind))
                } catch where service.portMayMove && position == 0 {
                    guard case .tcp(let host, let port) = bind, port != 0,
                          let moved = try? ListeningSocket.bind(.tcp(host: host, port: 0)) else {
                        logger.critical("\(error) (--bind)")
                        (listeners.joined() + sockets).forEach { $0.close() }
                        return nil
                    }
                    logger.notice("service \(service.name): \(bind) is taken (\(error.reason)); listening at \(moved.bound) instead")
                    sockets.append(moved)
                } catch {
                    logger.critical("\(error) (--bind)")
                    (listeners.joined() + sockets).forEach { $0.close() }
                    return nil
                }
            }
            listeners.append(sockets)
        }
        return listeners
    }
}
