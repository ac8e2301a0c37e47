import VigieConfig
import VigieCrypto
import VigieDKIM

/// The signing keys as both signing places use them (the sign role, and the
/// submission role with `in_submission`): the `[dkim.sign]` options made into a
/// libopendkim signer, the loaded keys into the table that picks them by From
/// domain, and the same keys registered with `CDKIMKeyCache`.
extension SignGlue.Keys {
    static func make(_ settings: SigningSettings, loaded: [(key: SigningSettings.Key, privateKey: PrivateKey)]) throws -> SignGlue.Keys {
        var options = DKIMSigner.Options()
        options.headerCanonicalization = settings.headerCanonicalization == "simple" ? .simple : .relaxed
        options.bodyCanonicalization = settings.bodyCanonicalization == "simple" ? .simple : .relaxed
        if let headers = settings.headers { options.signedHeaders = headers }
        if let oversign = settings.oversign { options.oversignedHeaders = oversign }
        let entries = try loaded.map { key, privateKey in
            DKIMSigningKeyTable.Entry(key: try DKIMSigningKey(domain: key.domain, selector: key.selector, key: privateKey),
                                      fromDomains: key.fromDomains)
        }
        // libopendkim is handed these keys already decoded from now on (CDKIMKeyCache);
        // a message still signing with a key of the last table decodes it itself.
        if !DKIMSigningKeyCache.register(entries.map(\.key)) {
            throw StartError("[[dkim.sign.key]]: \(entries.count) keys, over the \(DKIMSigningKeyCache.capacity) the sign role holds")
        }
        return SignGlue.Keys(signer: try DKIMSigner(options: options), table: DKIMSigningKeyTable(entries))
    }
}
