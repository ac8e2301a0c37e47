import Foundation

/// DKIM verifiers that are not Vigie's, run on a message whose keys a test
/// nameserver serves: dkimpy (Debian's python3-dkim, an implementation independent
/// of libopendkim) and opendkim itself in verify mode (`opendkim -t`), its
/// libunbound forwarding to the test nameserver.
public enum ExternalDKIMVerifiers {
    /// One verdict per DKIM-Signature, in header order: "pass d=DOMAIN s=SELECTOR a=ALG" or
    /// "fail d=...". dkimpy verifies one signature per call.
    public static func dkimpy(message: [UInt8], nameserver: String) throws -> [String] {
        let (host, port) = try split(nameserver)
        let script = """
        import sys, dkim, dns.resolver
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [sys.argv[1]]
        resolver.port = int(sys.argv[2])
        def dnsfunc(name, timeout=5):
            name = name.decode() if isinstance(name, bytes) else name
            try:
                answer = resolver.resolve(name, "TXT", lifetime=timeout)
            except Exception:
                return None
            for record in answer:
                return b"".join(record.strings)
            return None
        message = open(sys.argv[3], "rb").read()
        d = dkim.DKIM(message)
        count = sum(1 for name, _ in d.headers if name.lower() == b"dkim-signature")
        for index in range(count):
            try:
                ok = dkim.DKIM(message).verify(idx=index, dnsfunc=dnsfunc)
            except dkim.DKIMException:
                ok = False  # dkimpy raises on a body hash mismatch
            tags = dict((k.strip(), v.strip()) for k, _, v in (t.partition("=") for t in
                        [h[1] for h in d.headers if h[0].lower() == b"dkim-signature"][index].decode().replace("\\r\\n", "").split(";")) if k.strip())
            print("%s d=%s s=%s a=%s" % ("pass" if ok else "fail", tags.get("d"), tags.get("s"), tags.get("a")))
        """
        let directory = try TestDirectory.make(prefix: "vigie-dkimpy-")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data(message).write(to: URL(fileURLWithPath: "\(directory)/message.eml"))
        try script.write(toFile: "\(directory)/verify.py", atomically: true, encoding: .utf8)
        // Debian's python (python3-dkim, python3-dnspython, python3-nacl), not one
        // earlier in PATH without those modules.
        let result = try ProcessRunner.runChecked("/usr/bin/python3", ["\(directory)/verify.py", host, port, "\(directory)/message.eml"],
                                                  timeout: 60)
        return result.stdout.split(separator: "\n").map(String.init)
    }

    /// opendkim's verdict lines for the message (its `-t` mode prints one per
    /// signature it checked, on standard error), e.g.
    /// "opendkim: /tmp/.../message.eml: verification (s=sel, d=example.org, 2048-bit key) succeeded".
    public static func opendkim(message: [UInt8], nameserver: String) throws -> [String] {
        let (host, port) = try split(nameserver)
        let binary = ["/usr/sbin/opendkim", "/usr/bin/opendkim"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let binary else { throw HarnessError("opendkim is not installed: run scripts/install-deps --test") }
        let directory = try TestDirectory.make(prefix: "vigie-opendkim-")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data(message).write(to: URL(fileURLWithPath: "\(directory)/message.eml"))
        try """
        server:
            do-not-query-localhost: no
            module-config: "iterator"
            local-zone: "test." nodefault
        forward-zone:
            name: "."
            forward-addr: \(host)@\(port)
        """.write(toFile: "\(directory)/unbound.conf", atomically: true, encoding: .utf8)
        try """
        Mode                    v
        ResolverConfiguration   \(directory)/unbound.conf
        Syslog                  no
        """.write(toFile: "\(directory)/opendkim.conf", atomically: true, encoding: .utf8)
        let result = try ProcessRunner.run(binary, ["-x", "\(directory)/opendkim.conf", "-vvv", "-t", "\(directory)/message.eml"], timeout: 60)
        return (result.stdout + result.stderr).split(separator: "\n").map(String.init)
    }

    private static func split(_ nameserver: String) throws -> (String, String) {
        guard let colon = nameserver.lastIndex(of: ":") else { throw HarnessError("expected HOST:PORT, got \(nameserver)") }
        return (String(nameserver[..<colon]), String(nameserver[nameserver.index(after: colon)...]))
    }
}
