import Foundation
import VigieDNS
import VigieTestKit
#if canImport(Glibc)
import Glibc
#endif

/// nsd serving `fixtures/auth/zones/test.zone` on a free loopback port, started
/// once for the whole test process (and killed when it exits). Real DNS on the
/// wire, no internet.
enum TestNameserver {
    static let fixtures: String = {
        // Tests/VigieAuthTests/TestNameserver.swift → repository root.
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("fixtures/auth").path
    }()

    static func message(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/messages/\(name)")))
    }

    /// "127.0.0.1:PORT" of the running nsd.
    static var address: NameserverAddress {
        get throws {
            switch shared {
            case .success(let address): return address
            case .failure(let error): throw error
            }
        }
    }

    nonisolated(unsafe) private static var pid: pid_t = 0

    private static let shared: Result<NameserverAddress, HarnessError> = {
        do { return .success(try start()) } catch let error as HarnessError { return .failure(error) }
        catch { return .failure(HarnessError("\(error)")) }
    }()

    private static func start() throws -> NameserverAddress {
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
            name: "test"
            zonefile: "\(fixtures)/zones/test.zone"
        """
        try config.write(toFile: "\(directory)/nsd.conf", atomically: true, encoding: .utf8)
        let process = try LaunchedProcess(nsd, ["-d", "-c", "\(directory)/nsd.conf"], outputPath: "\(directory)/nsd.out")
        pid = process.pid
        atexit { if TestNameserver.pid > 0 { kill(TestNameserver.pid, SIGTERM) } }
        let address = NameserverAddress("127.0.0.1:\(port)")!
        let probe = DNSResolver(configuration: .init(nameservers: [address], attemptTimeout: .milliseconds(200),
                                                     lookupTimeout: .milliseconds(400), cacheCapacity: 1))
        do {
            try Wait.until("nsd answering on 127.0.0.1:\(port)", timeout: 15) {
                if !process.isRunning { throw HarnessError("nsd exited:\n\(process.output())") }
                if case .success = probe.lookup("ns.test", .a) { return true }
                return false
            }
        } catch {
            throw HarnessError("\(error)\n\(process.output())")
        }
        // Keep the process object alive for the whole run (its deinit kills nsd).
        keepAlive = process
        return address
    }

    nonisolated(unsafe) private static var keepAlive: LaunchedProcess?

    static func resolver(timeout: Duration = .seconds(3)) throws -> DNSResolver {
        DNSResolver(configuration: .init(nameservers: [try address], attemptTimeout: .seconds(1), lookupTimeout: timeout))
    }
}

/// A UDP socket on loopback that receives queries and never answers: a dead DNS
/// server, for temperror tests.
final class SilentNameserver {
    let fd: Int32
    let address: NameserverAddress

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_addr.s_addr = inet_addr("127.0.0.1")
        sa.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw HarnessError("cannot bind a UDP socket on loopback") }
        address = NameserverAddress("127.0.0.1:\(UInt16(bigEndian: sa.sin_port))")!
    }

    deinit { close(fd) }
}
