internal import COpenDKIM
import VigieAuth
import VigieDNS

/// DKIM verification (RFC 6376) with libopendkim, DNS through Vigie's resolver.
///
/// One `DKIM_LIB` serves every thread (as in opendkim itself); each message gets
/// its own `DKIMVerification` with its own `DKIM` handle. Every signature on the
/// message is verified, up to `Limits.maximumSignatures`; the rest are ignored
/// through libopendkim's prescreen hook before any key is fetched, which is what
/// defeats the many-signature DoS.
///
/// Security: headers beyond `maximumHeaders`, or longer than `maximumHeaderBytes`,
/// are not given to libopendkim (a signature over them then fails); the whole key
/// fetching of a message is bounded by `Limits.timeout` via `DNSDeadline`.
/// Diagnostics: each signature's outcome carries libopendkim's error text as its
/// reason; message-level problems land in `DKIMOutcome.note`.
/// Known limitations: results are reported, not enforced (no DMARC, no ATPS);
/// libopendkim 2.11's ed25519-sha256 support depends on its OpenSSL build
/// (Debian 12's has it: see the ed25519 tests).
public final class DKIMVerifier: @unchecked Sendable {
    // @unchecked: `library` is configured in init and only read afterwards;
    // libopendkim allows concurrent dkim_verify handles on one library once the
    // DNS hooks are thread-safe, which ours are.
    let library: OpaquePointer
    private let resolver: Unmanaged<DNSResolver>
    public let limits: Limits

    public struct Limits: Sendable {
        /// Signatures verified per message; the rest are reported as skipped.
        public var maximumSignatures: Int
        /// Header fields given to libopendkim per message.
        public var maximumHeaders: Int
        /// Longest header field (name, value and folding) given to libopendkim.
        public var maximumHeaderBytes: Int
        /// All key lookups of one message.
        public var timeout: Duration

        public init(maximumSignatures: Int = 5, maximumHeaders: Int = 1000, maximumHeaderBytes: Int = 64 * 1024,
                    timeout: Duration = .seconds(10)) {
            self.maximumSignatures = max(1, maximumSignatures)
            self.maximumHeaders = max(1, maximumHeaders)
            self.maximumHeaderBytes = max(1024, maximumHeaderBytes)
            self.timeout = timeout
        }
    }

    public init(resolver: DNSResolver, limits: Limits = Limits()) throws(DKIMSetupError) {
        guard let library = dkim_init(nil, nil) else { throw .libraryInit }
        self.library = library
        self.resolver = Unmanaged.passRetained(resolver)
        self.limits = limits
        // BADSIGHANDLES: malformed signatures are kept (reported neutral) instead
        // of silently dropped. Not FIXCRLF: it copies the body byte by byte to mend
        // bare LFs (a tenth of the inbound role's instructions, callgrind), and there
        // are none to mend: Postfix sends the body with CRLF line ends, and header
        // fields and message files are mended in `DKIMVerification` and `verify`.
        var flags: UInt32 = UInt32(DKIM_LIBFLAGS_BADSIGHANDLES)
        _ = dkim_options(library, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, MemoryLayout<UInt32>.size)
        DKIMDNSHooks.install(on: library, resolver: self.resolver)
        _ = dkim_set_prescreen(library, dkimPrescreen)
    }

    deinit {
        dkim_close(library)
        resolver.release()
    }

    /// Starts verifying one message; feed it headers, then body, then `finish()`.
    public func begin() -> DKIMVerification { DKIMVerification(verifier: self) }

    /// Verifies a whole message (RFC 5322 text, CRLF or LF line ends), for
    /// `vigiectl check` and tests.
    public func verify(message: [UInt8]) -> DKIMOutcome {
        let verification = begin()
        let (headers, body) = MessageSplitter.split(message)
        for header in headers { verification.header(header) }
        verification.endOfHeaders()
        verification.body(MessageSplitter.crlf(body))
        return verification.finish()
    }
}

public enum DKIMSetupError: Error, CustomStringConvertible {
    case libraryInit
    public var description: String { "libopendkim could not be initialised (dkim_init failed: out of memory or OpenSSL?)" }
}

/// libopendkim's prescreen hook: called once per message with its signatures,
/// before any key is fetched. Signatures past the cap are ignored
/// (`dkim_sig_ignore`). The cap travels in the handle's user context as an
/// integer, so the hook touches no shared state.
private let dkimPrescreen: @convention(c) (OpaquePointer?, UnsafeMutablePointer<OpaquePointer?>?, Int32) -> DKIM_CBSTAT = {
    dkim, signatures, count in
    guard let dkim, let signatures else { return DKIM_CBSTAT_CONTINUE }
    let cap = Int(bitPattern: dkim_get_user_context(dkim))
    if cap > 0 && Int(count) > cap {
        for index in cap..<Int(count) { if let sig = signatures[index] { dkim_sig_ignore(sig) } }
    }
    return DKIM_CBSTAT_CONTINUE
}
