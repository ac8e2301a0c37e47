import Logging
import Synchronization
import VigieCrypto
import VigieSRS

/// The four tables Vigie serves to Postfix for SRS, whatever the wire protocol.
public enum SRSTableName: String, Sendable, CaseIterable {
    /// `sender_canonical_maps`: original sender → SRS address (postsrsd's "forward").
    case forward
    /// `recipient_canonical_maps`: SRS address → original sender (postsrsd's "reverse").
    case reverse
    /// `check_recipient_access`: `550 ...` for an SRS recipient of the SRS domain that
    /// is forged, expired or malformed; not found otherwise.
    case access
    /// `sender_dependent_default_transport_maps`: the re-injection transport when the
    /// sender would be rewritten (the mail is leaving the host with a foreign sender:
    /// a forward), not found otherwise. See conf/postfix/README.srs.
    case transport
}

/// One answer to Postfix, in the terms both protocols share.
public enum LookupAnswer: Sendable, Equatable {
    case found([UInt8])
    case notFound
    /// Postfix defers the mail and retries later (never a loop: nothing is rewritten).
    case temporary(String)
    /// A configuration or protocol error on Postfix's side; Postfix defers too.
    case permanent(String)
}

/// Decides every lookup: the policy between the SRS codec and Postfix.
///
/// Every answer that is not a rewrite is "not found", so Postfix keeps the address
/// as it is: a malformed key, an address of another domain, an SRS address that
/// does not verify (refused at RCPT by the `access` table, not by rewriting). The only
/// temporary answer is an internal libssl failure.
///
/// Loops are impossible by construction: the forward table never rewrites an address
/// of the SRS domain (so its own output is left alone), the transport table names the
/// re-injection transport exactly when the forward table would rewrite, and the
/// reverse table only ever returns an address outside the SRS domain or an SRS0
/// address of another forwarder.
///
/// Diagnostics: one log line per rewrite and per refusal (`srs.table`, `srs.result`);
/// counters by table and outcome in `statistics`.
public final class SRSLookupTable: Sendable {
    public let codec: SRSCodec
    /// What the transport table answers, e.g. `smtp:[127.0.0.1]:10026`.
    public let forwardTransport: String?
    private let now: @Sendable () -> Int64
    private let logger: Logger
    public let statistics = Statistics()

    public final class Statistics: Sendable {
        public let lookups = Atomic<Int>(0)
        public let rewritten = Atomic<Int>(0)
        /// Of `rewritten`: senders given an SRS address, and SRS addresses reversed.
        public let forwarded = Atomic<Int>(0)
        public let reversed = Atomic<Int>(0)
        public let refused = Atomic<Int>(0)
        public let errors = Atomic<Int>(0)
        public init() {}
    }

    public init(codec: SRSCodec, forwardTransport: String?, logger: Logger, now: @escaping @Sendable () -> Int64) {
        self.codec = codec
        self.forwardTransport = forwardTransport
        self.logger = logger
        self.now = now
    }

    public func lookup(_ table: SRSTableName, key: [UInt8]) -> LookupAnswer {
        statistics.lookups.add(1, ordering: .relaxed)
        do {
            switch table {
            case .forward:
                guard case .rewritten(let address) = try codec.forward(key, now: now()) else { return .notFound }
                statistics.rewritten.add(1, ordering: .relaxed)
                statistics.forwarded.add(1, ordering: .relaxed)
                logger.info("srs forward", metadata: ["srs.from": "\(LogText.safe(key))", "srs.to": "\(address)"])
                return .found(Array(address.utf8))
            case .reverse:
                switch try codec.reverse(key, now: now()) {
                case .original(let address):
                    statistics.rewritten.add(1, ordering: .relaxed)
                    statistics.reversed.add(1, ordering: .relaxed)
                    logger.info("srs reverse", metadata: ["srs.from": "\(LogText.safe(key))", "srs.to": "\(address)"])
                    return .found(Array(address.utf8))
                case .refused(let refusal):
                    logger.notice("srs reverse refused", metadata: ["srs.address": "\(LogText.safe(key))", "srs.reason": "\(refusal.reason)"])
                    return .notFound
                case .notSRS:
                    return .notFound
                }
            case .access:
                // check_recipient_access also asks for "domain" and "localpart@": only a
                // full address of the SRS domain is judged.
                guard let at = key.lastIndex(of: UInt8(ascii: "@")), at + 1 < key.count else { return .notFound }
                guard case .refused(let refusal) = try codec.reverse(key, now: now()) else { return .notFound }
                statistics.refused.add(1, ordering: .relaxed)
                logger.notice("srs recipient refused", metadata: ["srs.address": "\(LogText.safe(key))", "srs.reason": "\(refusal.reason)"])
                return .found(Array("550 \(refusal.enhancedStatus) <\(LogText.safe(key))>: \(refusal.reason)".utf8))
            case .transport:
                guard let forwardTransport, case .rewritten = try codec.forward(key, now: now()) else { return .notFound }
                return .found(Array(forwardTransport.utf8))
            }
        } catch {
            statistics.errors.add(1, ordering: .relaxed)
            logger.error("srs lookup failed", metadata: ["srs.table": "\(table.rawValue)", "error": "\(error)"])
            return .temporary("internal error in the SRS service")
        }
    }
}

/// Text from a lookup key made safe for a log line or an SMTP reply: printable ASCII
/// and UTF-8 kept, control characters and `%` (which Postfix's reply code expands)
/// shown as `?`, at most 300 bytes.
enum LogText {
    static func safe(_ bytes: [UInt8]) -> String {
        let cleaned = bytes.prefix(300).map { byte -> UInt8 in
            (byte < 0x20 || byte == 0x7F || byte == UInt8(ascii: "%")) ? UInt8(ascii: "?") : byte
        }
        return String(decoding: cleaned, as: UTF8.self) + (bytes.count > 300 ? "..." : "")
    }
}
