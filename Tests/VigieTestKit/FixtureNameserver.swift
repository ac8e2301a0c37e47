import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real DNS server for tests: Debian's nsd serving one zone file on a free
/// loopback port, so SPF and DKIM meet DNS on the wire without the internet.
///
/// Started once per zone file for the whole test process, and stopped (its
/// directory removed) when the process exits.
public enum FixtureNameserver {
    nonisolated(unsafe) private static var running: [String: (address: String, process: LaunchedProcess, directory: String)] = [:]
    private static let lock = NSLock()

    /// "127.0.0.1:PORT" of nsd serving `zoneFile` as `zone`, started on first use.
    /// `ready` is asked until it returns true (e.g. a lookup succeeds): nsd needs a
    /// moment to load its zones.
    public static func address(zone: String, zoneFile: String, ready: (String) -> Bool) throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let running = running[zoneFile] { return running.address }
        let nsd = ["/usr/sbin/nsd", "/usr/bin/nsd"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let nsd else { throw HarnessError("nsd is not installed: run scripts/install-deps (package nsd)") }
        let directory = try TestDirectory.make(prefix: "vigie-nsd-")
        let port = try LoopbackPort.free()
        let config = """
        server:
            ip-address: 127.0.0.1@\(port)
            port: \(port)
            username: ""
            chroot: ""
            zonesdir: "\(directory)"
            zonelistfile: "\(directory)/zone.list"
            xfrdfile: "\(directory)/xfrd.state"
            pidfile: "\(directory)/nsd.pid"
            logfile: "\(directory)/nsd.log"
            database: ""
            server-count: 1
            verbosity: 1
        remote-control:
            control-enable: no
        zone:
            name: "\(zone)"
            zonefile: "\(zoneFile)"
        """
        try config.write(toFile: "\(directory)/nsd.conf", atomically: true, encoding: .utf8)
        let process = try LaunchedProcess(nsd, ["-d", "-c", "\(directory)/nsd.conf"], outputPath: "\(directory)/nsd.out")
        let address = "127.0.0.1:\(port)"
        if running.isEmpty { atexit { FixtureNameserver.stopAll() } }
        running[zoneFile] = (address, process, directory)
        do {
            try Wait.until("nsd answering on \(address)", timeout: 15) {
                if !process.isRunning { throw HarnessError("nsd exited:\n\(process.output())") }
                return ready(address)
            }
        } catch {
            throw HarnessError("\(error)\n\(process.output())")
        }
        return address
    }

    private static func stopAll() {
        for (_, server) in running {
            kill(server.process.pid, SIGTERM)
            _ = server.process.waitForExit(timeout: 2)
            if !TestDirectory.keepRequested { try? FileManager.default.removeItem(atPath: server.directory) }
        }
    }
}
