@testable import VigieAuth

/// The Authentication-Results and Received-SPF formatters (Sources/VigieAuth): every
/// value they print comes from the SMTP client or the message (HELO, MAIL FROM,
/// d=, s=, i=, a=, b=, the SPF and DKIM libraries' reasons).
///
/// Properties, checked with a small RFC 8601 reader below (not the code under test):
/// - no CR anywhere, and every LF is the formatter's own fold (followed by a tab);
/// - the value splits into exactly one resinfo per result: no input can add,
///   remove or end a result early (no `;` injection);
/// - each property's value reads back as what was given: the token as is, or the
///   quoted-string unescaped, cut to 255 characters, control characters as spaces;
/// - the authserv-id reads back, and a forged header claiming it is found.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAuthHeaders(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let choice = input.byte()
    let spf = SPFOutcome(
        result: SPFResult.allCases[Int(choice) % SPFResult.allCases.count],
        identity: choice & 0x80 == 0 ? .mailFrom : .helo,
        checkedAddress: input.fieldString(), clientIP: input.fieldString(), helo: input.fieldString(),
        reason: choice & 0x40 == 0 ? nil : input.fieldString())
    var signatures: [DKIMSignatureOutcome] = []
    let signatureCount = Int(input.byte() % 4)
    for _ in 0..<signatureCount {
        let flags = input.byte()
        signatures.append(DKIMSignatureOutcome(
            result: DKIMResult.allCases[Int(flags) % DKIMResult.allCases.count],
            domain: input.fieldString(), selector: input.fieldString(),
            identity: flags & 0x10 == 0 ? nil : input.fieldString(),
            algorithm: flags & 0x20 == 0 ? nil : input.fieldString(),
            signaturePrefix: flags & 0x40 == 0 ? nil : input.fieldString(),
            keyBits: flags & 0x80 == 0 ? nil : Int(input.byte()) * 64,
            reason: flags & 0x08 == 0 ? nil : input.fieldString()))
    }
    let authservID = "mx.example.org"
    let header = AuthenticationResults.value(authservID: authservID, spf: spf, dkim: DKIMOutcome(signatures: signatures))
    checkFolding(header)

    let resinfos = HeaderReader.split(header)
    require(resinfos.count == 2 + max(signatures.count, 1), "\(resinfos.count) parts in \(header.debugDescription)")
    require(resinfos[0] == [.token(authservID)], "authserv-id part \(resinfos[0])")
    require(AuthenticationResults.authservID(ofHeaderValue: header) == authservID, "authserv-id not read back")
    require(AuthenticationResults.forgedHeaderPositions(headerValues: ["other.example; none", header], authservID: "MX.example.org") == [2],
            "forgery not found")

    let spfPart = HeaderReader.properties(resinfos[1])
    require(spfPart["spf"] == spf.result.rawValue, "spf= \(String(describing: spfPart["spf"]))")
    switch spf.identity {
    case .mailFrom: require(spfPart["smtp.mailfrom"] == expected(spf.checkedAddress), "smtp.mailfrom \(String(describing: spfPart["smtp.mailfrom"]?.debugDescription)) for \(spf.checkedAddress.debugDescription)")
    case .helo: require(spfPart["smtp.helo"] == expected(spf.helo), "smtp.helo \(String(describing: spfPart["smtp.helo"]?.debugDescription)) for \(spf.helo.debugDescription)")
    }
    for (signature, part) in zip(signatures, resinfos.dropFirst(2)) {
        let read = HeaderReader.properties(part)
        require(read["dkim"] == signature.result.rawValue, "dkim= \(String(describing: read["dkim"]))")
        for (name, given) in [("header.d", signature.domain), ("header.s", signature.selector),
                              ("header.i", signature.identity ?? ""), ("header.a", signature.algorithm ?? ""),
                              ("header.b", signature.signaturePrefix ?? "")] {
            require(read[name] == (given.isEmpty ? nil : expected(given)),
                    "\(name) read \(String(describing: read[name]?.debugDescription)) for \(given.debugDescription) in \(header.debugDescription)")
        }
    }

    let received = ReceivedSPF.value(spf, receiver: authservID)
    checkFolding(received)
    // "result (comment)\n\tkey=value; key=value; ...;": the pairs must read back too.
    let pairs = HeaderReader.split(received)
    require(pairs.count == (spf.identity == .mailFrom ? 5 : 4), "Received-SPF parts \(pairs.count) in \(received.debugDescription)")
    require(pairs[0].first == .token(spf.result.rawValue), "Received-SPF result \(pairs[0])")
    let keyValues = pairs.reduce(into: [String: String]()) { $0.merge(HeaderReader.properties($1)) { a, _ in a } }
    require(keyValues["client-ip"] == expected(spf.clientIP), "client-ip \(String(describing: keyValues["client-ip"]))")
    require(keyValues["helo"] == expected(spf.helo), "helo \(String(describing: keyValues["helo"]))")
    if spf.identity == .mailFrom {
        require(keyValues["envelope-from"] == expectedQuoted(spf.checkedAddress), "envelope-from \(String(describing: keyValues["envelope-from"]))")
    }
    return 0
}

private func checkFolding(_ value: String) {
    let bytes = Array(value.utf8)
    require(!bytes.contains(0x0D), "CR in \(value.debugDescription)")
    for (index, byte) in bytes.enumerated() where byte == 0x0A {
        require(index + 1 < bytes.count && bytes[index + 1] == 0x09, "bare LF in \(value.debugDescription)")
    }
}

/// What a reader must get back for a value the formatter was given: empty values
/// are printed as "" and read back empty.
private func expected(_ given: String) -> String {
    let scalars = given.unicodeScalars.prefix(255)
    return String(String.UnicodeScalarView(scalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : $0 }))
}

private func expectedQuoted(_ given: String) -> String {
    String(String.UnicodeScalarView(given.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : $0 }))
}

/// A reader for RFC 8601 values as the formatters write them: parts separated by
/// `;` outside quoted-strings and comments; within a part, `name=value` words.
enum HeaderReader {
    enum Word: Equatable { case token(String), quoted(String) }

    /// Parts with their words; comments dropped; `a=b` kept as one token "a=" then value.
    static func split(_ value: String) -> [[Word]] {
        var parts: [[Word]] = [[]]
        var scalars = Array(value.unicodeScalars)[...]
        var token = ""
        func flush() { if !token.isEmpty { parts[parts.count - 1].append(.token(token)); token = "" } }
        while let c = scalars.first {
            scalars = scalars.dropFirst()
            switch c {
            case ";": flush(); parts.append([])
            case " ", "\t", "\n", "\r": flush()
            case "(":
                flush()
                var depth = 1
                while depth > 0, let d = scalars.first {
                    scalars = scalars.dropFirst()
                    if d == "\\" { scalars = scalars.dropFirst() } else if d == "(" { depth += 1 } else if d == ")" { depth -= 1 }
                }
            case "\"":
                var text = ""
                while let d = scalars.first, d != "\"" {
                    scalars = scalars.dropFirst()
                    if d == "\\", let e = scalars.first { text.unicodeScalars.append(e); scalars = scalars.dropFirst() } else { text.unicodeScalars.append(d) }
                }
                scalars = scalars.dropFirst()
                if !token.isEmpty { parts[parts.count - 1].append(.token(token)); token = "" }
                parts[parts.count - 1].append(.quoted(text))
            default: token.unicodeScalars.append(c)
            }
        }
        flush()
        if parts.last == [] { parts.removeLast() }
        return parts
    }

    /// `name=value` pairs of one part: a token `name=value`, or a token `name=`
    /// followed by a quoted-string.
    static func properties(_ words: [Word]) -> [String: String] {
        var result: [String: String] = [:]
        var index = 0
        while index < words.count {
            if case .token(let t) = words[index], let equals = t.firstIndex(of: "=") {
                let name = String(t[..<equals])
                let rest = String(t[t.index(after: equals)...])
                if rest.isEmpty, index + 1 < words.count, case .quoted(let q) = words[index + 1] {
                    result[name] = q
                    index += 1
                } else if result[name] == nil {
                    result[name] = rest
                }
            }
            index += 1
        }
        return result
    }
}
