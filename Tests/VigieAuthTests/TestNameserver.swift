import Foundation
import VigieDNS
import VigieSockets
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
    static var address: SocketAddress {
        get throws {
            switch shared {
            case .success(let address): return address
            case .failure(let error): throw error
            }
        }
    }

    private static let shared: Result<SocketAddress, HarnessError> = {
        do {
            let text = try FixtureNameserver.address(zone: "test", zoneFile: "\(fixtures)/zones/test.zone") { address in
                let probe = DNSResolver(configuration: .init(nameservers: [Nameserver.address(address)!],
                                                             attemptTimeout: .milliseconds(200),
                                                             lookupTimeout: .milliseconds(400), cacheCapacity: 1))
                if case .success = probe.lookup("ns.test", .a) { return true }
                return false
            }
            return .success(Nameserver.address(text)!)
        } catch let error as HarnessError {
            return .failure(error)
        } catch {
            return .failure(HarnessError("\(error)"))
        }
    }()

    static func resolver(timeout: Duration = .seconds(3)) throws -> DNSResolver {
        DNSResolver(configuration: .init(nameservers: [try address], attemptTimeout: .seconds(1), lookupTimeout: timeout))
    }
}
