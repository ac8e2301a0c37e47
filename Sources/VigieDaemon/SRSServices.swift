import Foundation
import Logging
import SRSLookup
import VigieConfig
import VigieSRS

/// SRS glue: builds the codec from `[srs]`, opens the lookup sockets (as root, before
/// the privilege drop, like the control socket) and starts them once the daemon runs.
///
/// Security: the secrets file is read here, as root, so it can stay mode 0600; the
/// listeners are loopback or unix only (checked by the configuration).
/// Diagnostics: a missing secrets file or a busy port stops the start-up with a
/// message naming the file or port (postsrsd still running is the usual cause).
final class SRSServices: Sendable {
    let servers: [LookupServer]
    let table: SRSLookupTable

    /// nil when `[srs] enabled` is false.
    static func open(settings: SRSSettings, logger: Logger) throws -> SRSServices? {
        guard settings.enabled, let domain = settings.domain else { return nil }
        let loaded: (secrets: SRSSecrets, warning: String?)
        do {
            loaded = try SRSSecrets.load(path: settings.secretsFile)
        } catch {
            throw SRSStartFailure(description: "srs.secrets_file: \(error)")
        }
        if let warning = loaded.warning { logger.warning("srs secrets", metadata: ["warning": "\(warning)"]) }
        let configuration = SRSConfiguration(
            domain: domain, excludedDomains: settings.excludedDomains, maximumAgeDays: settings.maximumAgeDays,
            hashLength: settings.hashLength, hashEncoding: SRSHashEncoding(rawValue: settings.hashEncoding) ?? .base64url)
        let table = SRSLookupTable(codec: SRSCodec(configuration: configuration, secrets: loaded.secrets),
                                   forwardTransport: settings.forwardTransport, logger: logger,
                                   now: { Int64(Date().timeIntervalSince1970) })
        var servers: [LookupServer] = []
        let limits = LookupServer.Limits(requestTimeout: settings.requestTimeout)
        do {
            if let address = settings.tcpForward {
                servers.append(try LookupServer(address: lookupAddress(address), kind: .tcpTable, table: .forward, lookups: table, logger: logger, limits: limits))
            }
            if let address = settings.tcpReverse {
                servers.append(try LookupServer(address: lookupAddress(address), kind: .tcpTable, table: .reverse, lookups: table, logger: logger, limits: limits))
            }
            if let address = settings.socketmap {
                servers.append(try LookupServer(address: lookupAddress(address), kind: .socketmap, lookups: table, logger: logger, limits: limits))
            }
        } catch {
            throw SRSStartFailure(description: "srs: \(error)")
        }
        return SRSServices(servers: servers, table: table)
    }

    private init(servers: [LookupServer], table: SRSLookupTable) {
        self.servers = servers
        self.table = table
    }

    func start(logger: Logger) {
        for server in servers { server.start() }
        logger.info("srs started", metadata: [
            "srs.domain": "\(table.codec.configuration.domain)",
            "srs.listen": "\(servers.map { "\($0.kind.rawValue)=\($0.address)" }.joined(separator: ","))",
        ])
    }

    private static func lookupAddress(_ address: MilterSocketAddress) -> LookupListenAddress {
        switch address {
        case .unix(let path): .unix(path: path)
        case .inet(let host, let port): .inet(host: host == "localhost" ? "127.0.0.1" : host, port: port)
        }
    }
}

struct SRSStartFailure: Error, CustomStringConvertible {
    var description: String
}
