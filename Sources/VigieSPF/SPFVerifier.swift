internal import CSPF2
import VigieAuth
import VigieDNS
#if canImport(Glibc)
import Glibc
#endif

/// SPF checks (RFC 7208) with libspf2, DNS through Vigie's resolver.
///
/// Thread safety: one `SPF_server_t` serves every thread (libspf2 allows it:
/// each check has its own request and response); the DNS layer is read-only.
///
/// Security: libspf2's error path calls `abort()` (`SPF_error`). Inputs are
/// validated here before libspf2 sees them (client IP parsed, HELO and sender
/// domain checked as DNS names, lengths capped), so that path is not reachable
/// from a message; our handler logs to stderr and aborts only if libspf2 itself is
/// broken. libspf2 1.2.10's macro expander has had overflow bugs
/// (CVE-2021-20314, fixed in Debian's 1.2.10-7.2): keep the package updated.
/// Diagnostics: the outcome's `reason` names the libspf2 error or mechanism.
/// Void lookups (RFC 7208 §4.6.4), which libspf2 1.2.10 does not count, are counted
/// by the DNS layer (`SPFVoidLookups`): more than two make the check a permerror.
public final class SPFVerifier: @unchecked Sendable {
    // @unchecked: `server` is only read after init (libspf2 treats it as const
    // during checks), and `dnsLayer` is immutable; both freed in deinit.
    private let server: UnsafeMutablePointer<SPF_server_t>
    private let dnsLayer: SPFDNSLayer
    public let receiver: String
    public let checkTimeout: Duration

    /// - Parameters:
    ///   - receiver: our host name (Received-SPF's `receiver=`, SPF's `%{r}`).
    ///   - checkTimeout: the whole check, every DNS lookup included.
    public init(resolver: DNSResolver, receiver: String, checkTimeout: Duration = .seconds(10)) throws(SPFSetupError) {
        SPFVerifier.installHandlers
        dnsLayer = SPFDNSLayer(resolver: resolver)
        guard let server = SPF_server_new_dns(dnsLayer.layer, 0) else { throw .serverCreation }
        self.server = server
        self.receiver = receiver
        self.checkTimeout = checkTimeout
        if SPFInput.isDomainName(receiver) { _ = SPF_server_set_rec_dom(server, receiver) }
    }

    deinit {
        SPF_server_free(server)
    }

    /// Replaces libspf2's stdio handlers (which print to stderr and, for errors,
    /// abort) once per process. Warnings and debug output are dropped: outcomes
    /// carry what matters.
    private static let installHandlers: Void = {
        vigie_spf_set_handlers({ file, line, message in
            let text = "vigie: libspf2 internal error at \(file.map { String(cString: $0) } ?? "?"):\(line): \(message.map { String(cString: $0) } ?? "")\n"
            _ = text.withCString { write(2, $0, strlen($0)) }
            // libspf2 declares this handler noreturn; returning is undefined behaviour.
            abort()
        }, { _, _, _ in })
    }()

    /// Checks MAIL FROM (or the HELO identity when the sender is null).
    /// - Parameter mailFrom: the envelope sender, with or without `<>`; empty for `<>`.
    public func check(clientIP: String, helo: String, mailFrom: String) -> SPFOutcome {
        let sender = SPFInput.strippedSender(mailFrom)
        let heloIsValid = SPFInput.isDomainName(helo)
        let identity: SPFIdentity = sender.isEmpty ? .helo : .mailFrom
        let checked = sender.isEmpty ? "postmaster@\(helo)" : sender
        func outcome(_ result: SPFResult, _ reason: String?) -> SPFOutcome {
            SPFOutcome(result: result, identity: identity, checkedAddress: checked, clientIP: clientIP, helo: helo, reason: reason)
        }
        guard let address = SPFInput.ipAddress(clientIP) else { return outcome(.permerror, "invalid client address") }
        // RFC 7208 §4.3: a malformed domain gives "none".
        if sender.isEmpty {
            guard heloIsValid else { return outcome(.none, "HELO is not a domain name") }
        } else {
            guard SPFInput.isValidSender(sender) else { return outcome(.none, "sender domain is not a domain name") }
        }

        guard let request = SPF_request_new(server) else { return outcome(.temperror, "out of memory") }
        defer { SPF_request_free(request) }
        switch address {
        case .v4: _ = SPF_request_set_ipv4_str(request, clientIP)
        case .v6: _ = SPF_request_set_ipv6_str(request, clientIP)
        }
        // An invalid HELO only feeds %{h}; give libspf2 a harmless stand-in.
        _ = SPF_request_set_helo_dom(request, heloIsValid ? helo : "unknown")
        _ = SPF_request_set_env_from(request, checked)

        var response: UnsafeMutablePointer<SPF_response_t>? = nil
        // After the last "@", found on the bytes (a Character split walks graphemes);
        // `checked` was validated above, so it has a domain after its last "@".
        let checkedDomain = checked.utf8.lastIndex(of: UInt8(ascii: "@")).map { String(checked[checked.utf8.index(after: $0)...]) } ?? checked
        let (status, voids) = SPFVoidLookups.counting(domain: sender.isEmpty ? helo : checkedDomain) {
            DNSDeadline.withDeadline(ContinuousClock.now.advanced(by: checkTimeout)) {
                SPF_request_query_mailfrom(request, &response)
            }
        }
        defer { if let response { SPF_response_free(response) } }
        guard let response else { return outcome(.temperror, String(cString: SPF_strerror(status))) }
        var errcode = SPF_response_errcode(response)
        // Record errors may sit in the message list with errcode left at SUCCESS.
        if errcode == SPF_E_SUCCESS {
            for index in 0..<SPF_response_messages(response) {
                if let message = SPF_response_message(response, index), SPF_error_errorp(message) != 0 {
                    errcode = SPF_error_code(message)
                    break
                }
            }
        }
        let result = SPFVerifier.result(SPF_response_result(response), errcode: errcode)
        // libspf2 went on past the limit; RFC 7208 §4.6.4 ends the check there.
        if voids > SPFVoidLookups.limit && result != .temperror {
            return outcome(.permerror, "more than \(SPFVoidLookups.limit) void DNS lookups (RFC 7208 4.6.4)")
        }
        var reason: String? = nil
        if errcode != SPF_E_SUCCESS {
            reason = String(cString: SPF_strerror(errcode))
        } else if result == .temperror {
            reason = "DNS lookup failed or timed out"
        }
        return outcome(result, reason)
    }

    private static func result(_ raw: SPF_result_t, errcode: SPF_errcode_t) -> SPFResult {
        switch raw {
        case SPF_RESULT_PASS: .pass
        case SPF_RESULT_FAIL: .fail
        case SPF_RESULT_SOFTFAIL: .softfail
        case SPF_RESULT_NEUTRAL: .neutral
        case SPF_RESULT_NONE: .none
        case SPF_RESULT_PERMERROR: .permerror
        // INVALID comes back when DNS said TRY_AGAIN (POSTFIX-NOTES), but also
        // for errors in the record: the error code tells them apart.
        default:
            switch errcode {
            case SPF_E_SUCCESS, SPF_E_DNS_ERROR, SPF_E_NO_MEMORY, SPF_E_INTERNAL_ERROR, SPF_E_NOT_CONFIG: .temperror
            default: .permerror
            }
        }
    }
}

public enum SPFSetupError: Error, CustomStringConvertible {
    case serverCreation
    public var description: String { "libspf2 could not create an SPF server (out of memory?)" }
}
