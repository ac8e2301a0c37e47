internal import COpenSSL

/// A libssl call that failed: an operational error (broken install, missing
/// provider), never a verification outcome.
public struct CryptoError: Error, CustomStringConvertible, Sendable {
    /// The C call that failed, e.g. `EVP_MAC_init(HMAC-SHA1)`.
    public var call: String
    /// libssl's own reason (`ERR_get_error` queue), when it gave one.
    public var reason: String

    init(call: String) {
        self.call = call
        var reason = ""
        let code = ERR_get_error()
        if code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reason = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        ERR_clear_error()
        self.call = call
        self.reason = reason
    }

    public var description: String {
        "libssl: \(call) failed" + (reason.isEmpty ? "" : ": \(reason)") + "; check that libssl3 is installed and intact"
    }
}
