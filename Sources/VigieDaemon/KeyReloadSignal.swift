import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// SIGUSR1 → reload the signing keys. `Launcher.prepareProcess` blocks SIGUSR1 in
/// every thread (as libmilter's signals are), so one thread takes it with
/// sigwait: no handler runs at an arbitrary point, and in the other roles a stray
/// SIGUSR1 stays pending instead of killing the daemon.
enum KeyReloadSignal {
    static func start(logger: Logger, reload: @escaping @Sendable () throws -> [String]) {
        let thread = Thread {
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, SIGUSR1)
            while true {
                var signal: Int32 = 0
                guard sigwait(&set, &signal) == 0 else { continue }
                do {
                    let keys = try reload()
                    logger.notice("sign: keys reloaded", metadata: ["keys": "\(keys.joined(separator: ","))"])
                } catch {
                    logger.error("sign: reload refused, the running keys stay: \(error)")
                }
            }
        }
        thread.name = "vigie-sign-reload"
        thread.start()
    }
}
