@testable import VigieCore

/// SASL logins and envelope senders (Sources/VigieCore/AccountName.swift,
/// EnvelopeAddress.swift): the bytes come from the SMTP client.
///
/// Properties:
/// - a normalised name normalises to itself (an admin who types the name
///   `vigiectl show` printed, or a stored name read back, lands on the same account);
/// - the fast path and the general path agree: the name is lower case, has no
///   blank at either end and no control character;
/// - a local sender's account is the account of its local part as a login;
/// - `EnvelopeAddress.strip` leaves no blank at either end and only ever removes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAccountName(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let domainChoice = input.byte()
    let text = String(decoding: input.rest(), as: UTF8.self)
    let normalizers = [AccountNormalizer(), AccountNormalizer(localDomains: ["example.org", "Example.NET"])]
    let normalizer = normalizers[Int(domainChoice) % normalizers.count]

    if let account = normalizer.account(forLogin: text) {
        let again = normalizer.account(forLogin: account.value)
        require(again == account, "login \(text.debugDescription) -> \(account.value.debugDescription) -> \(String(describing: again?.value.debugDescription))")
        require(account.value == account.value.lowercased(), "not lower case: \(account.value.debugDescription)")
        require(!account.value.isEmpty && account.value.utf8.count <= 256, "length \(account.value.utf8.count)")
        require(!account.value.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, "control character in \(account.value.debugDescription)")
        for blank in [" ", "\t"] {
            require(!account.value.hasPrefix(blank) && !account.value.hasSuffix(blank), "blank at an end of \(account.value.debugDescription)")
        }
    }

    let stripped = EnvelopeAddress.strip(text)
    require(stripped.utf8.count <= text.utf8.count, "strip grew \(text.debugDescription)")
    require(!stripped.hasPrefix(" ") && !stripped.hasSuffix(" ") && !stripped.hasPrefix("\t") && !stripped.hasSuffix("\t"),
            "strip left a blank: \(stripped.debugDescription)")
    if let sender = normalizer.account(forLocalSender: text) {
        let again = normalizer.account(forLogin: sender.value)
        require(again == sender, "local sender \(text.debugDescription) -> \(sender.value.debugDescription) -> \(String(describing: again?.value.debugDescription))")
    }
    return 0
}
