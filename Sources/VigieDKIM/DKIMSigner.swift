internal import COpenDKIM
import Foundation

/// DKIM signing (RFC 6376, RFC 8463) with libopendkim: the headers chosen, the
/// canonicalisation and the oversigning are the library's options, set once; each
/// message gets a `DKIMSigning` with one libopendkim handle per key (dual signing:
/// an RSA and an Ed25519 signature for the same domain are two handles fed the
/// same bytes).
///
/// Security: the keys are handed to libopendkim as PKCS#8 PEM, the form
/// `DKIMSigningKey` prepares once; nothing here logs them.
/// Known limitations: no l= (body length: it invites appended content) and no x=
/// (expiry: keys rotate instead); no ARC sealing.
public final class DKIMSigner: @unchecked Sendable {
    // @unchecked: `library` is configured in init and only read afterwards;
    // libopendkim allows concurrent signing handles on one library.
    let library: OpaquePointer
    public let options: Options
    /// The C strings given to DKIM_OPTS_SIGNHDRS / OVERSIGNHDRS, kept for the
    /// library's lifetime whatever libopendkim copies.
    private var cStrings: [UnsafeMutablePointer<CChar>] = []

    public struct Options: Sendable, Equatable {
        public enum Canonicalization: String, Sendable, Equatable { case relaxed, simple }
        public var headerCanonicalization: Canonicalization
        public var bodyCanonicalization: Canonicalization
        /// Header fields signed when present (RFC 6376 §5.4).
        public var signedHeaders: [String]
        /// Header fields signed once more than they occur, so that adding one breaks
        /// the signature (RFC 6376 §8.15): From and what a replayer would add.
        public var oversignedHeaders: [String]

        /// RFC 6376 §5.4.1's list, with the MIME fields that change how a body reads.
        public static let recommendedHeaders = [
            "From", "Reply-To", "Subject", "Date", "To", "Cc", "Resent-Date", "Resent-From", "Resent-Sender",
            "Resent-To", "Resent-Cc", "In-Reply-To", "References", "List-Id", "List-Help", "List-Unsubscribe",
            "List-Subscribe", "List-Post", "List-Owner", "List-Archive", "Message-ID", "MIME-Version",
            "Content-Type", "Content-Transfer-Encoding",
        ]
        public static let recommendedOversigned = ["From", "Subject", "To", "Cc", "Reply-To", "Date"]

        public init(headerCanonicalization: Canonicalization = .relaxed, bodyCanonicalization: Canonicalization = .relaxed,
                    signedHeaders: [String] = recommendedHeaders, oversignedHeaders: [String] = recommendedOversigned) {
            self.headerCanonicalization = headerCanonicalization
            self.bodyCanonicalization = bodyCanonicalization
            self.signedHeaders = signedHeaders
            self.oversignedHeaders = oversignedHeaders
        }
    }

    public init(options: Options = Options()) throws(DKIMSetupError) {
        guard let library = dkim_init(nil, nil) else { throw .libraryInit }
        self.library = library
        self.options = options
        // Not FIXCRLF: Postfix gives the body with CRLF line ends, and `sign(message:)`
        // mends message files itself (MessageSplitter), as the verifier does.
        var flags = UInt32(DKIM_LIBFLAGS_NONE)
        _ = dkim_options(library, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, MemoryLayout<UInt32>.size)
        // A signed header must also be oversigned to be listed in h= once more than
        // it occurs: libopendkim oversigns only among the headers it signs.
        var signed = options.signedHeaders
        for name in options.oversignedHeaders where !signed.contains(where: { $0.caseInsensitiveCompare(name) == .orderedSame }) {
            signed.append(name)
        }
        setList(DKIM_OPTS_SIGNHDRS, signed)
        setList(DKIM_OPTS_OVERSIGNHDRS, options.oversignedHeaders)
    }

    private func setList(_ option: dkim_opts_t, _ names: [String]) {
        var pointers: [UnsafeMutablePointer<CChar>?] = names.map { strdup($0) }
        cStrings += pointers.compactMap { $0 }
        pointers.append(nil)
        _ = pointers.withUnsafeMutableBufferPointer {
            dkim_options(library, DKIM_OP_SETOPT, option, $0.baseAddress, MemoryLayout<UnsafeMutableRawPointer>.size)
        }
    }

    deinit {
        dkim_close(library)
        for pointer in cStrings { free(pointer) }
    }

    /// Starts signing one message with every key in `keys`; feed it the headers,
    /// then the body, then `finish()`.
    public func begin(keys: [DKIMSigningKey]) -> DKIMSigning { DKIMSigning(signer: self, keys: keys) }

    /// Signs a whole message (RFC 5322 text, CRLF or LF line ends): for tests and
    /// `vigiectl`. The fields come back in the order to put them on top.
    public func sign(message: [UInt8], keys: [DKIMSigningKey]) -> [DKIMSignatureResult] {
        let signing = begin(keys: keys)
        let (headers, body) = MessageSplitter.split(message)
        for header in headers { signing.header(header) }
        signing.endOfHeaders()
        signing.body(MessageSplitter.crlf(body))
        return signing.finish()
    }
}
