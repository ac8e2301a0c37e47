import VigieAuth
import VigieDKIM
import VigieDNS

/// The whole DKIM verification of an inbound message (Sources/VigieDKIM): header
/// fields through `MessageSplitter`, the signature prescreen and cap
/// (`dkimPrescreen`, `Limits`), libopendkim's own parsing of every
/// `DKIM-Signature:` tag list, the DNS hooks, and the verdict mapping.
///
/// No key can be fetched here: the resolver asks a closed loopback port, so every
/// lookup fails at once (connection refused). Properties:
/// - at most `maximumSignatures` signatures are checked, whatever the message holds;
/// - nothing passes: without a key no signature may verify, however it is forged;
/// - the verdict is a function of the message: verifying it again gives the same
///   results for the same domains and selectors.
let resolver = DNSResolver(configuration: .init(nameservers: [Nameserver.address("127.0.0.1:9")!],
                                                attemptTimeout: .milliseconds(50), lookupTimeout: .milliseconds(50),
                                                attempts: 1, cacheCapacity: 1))
let verifier = try! DKIMVerifier(resolver: resolver, limits: .init(maximumSignatures: 5, timeout: .milliseconds(200)))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDKIMVerify(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let message = Array(UnsafeBufferPointer(start: data, count: size))
    let outcome = verifier.verify(message: message)
    require(outcome.signatures.count <= 5, "\(outcome.signatures.count) signatures checked over a cap of 5")
    for signature in outcome.signatures {
        require(signature.result != .pass, "a signature passed with no key: \(signature)")
    }
    let again = verifier.verify(message: message)
    let first = outcome.signatures.map { "\($0.result) \($0.domain) \($0.selector)" }
    let second = again.signatures.map { "\($0.result) \($0.domain) \($0.selector)" }
    require(first == second, "two verifications differ: \(first) then \(second)")
    require(outcome.skippedSignatures == again.skippedSignatures, "skipped counts differ")
    return 0
}
