import Foundation

/// Reads the Redis password from a file (`[store] redis_password_file`), so that it
/// is neither in vigie.toml, which every admin reads, nor on a command line.
///
/// The file holds the password on one line; one trailing newline is allowed (what
/// `echo secret > file` writes). Security: keep it mode 0600 or 0640 root:vigie; it
/// is read before privileges are dropped.
public enum RedisPasswordFile {
    public static func read(path: String) throws(RedisError) -> String {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw RedisError(.configuration, "cannot read the password file \(path) (\(error.localizedDescription))",
                             remedy: "check the path of redis_password_file and that root can read it")
        }
        guard data.count <= 4096 else {
            throw RedisError(.configuration, "the password file \(path) is \(data.count) bytes; a password is one line")
        }
        var bytes = [UInt8](data)
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard !bytes.isEmpty else {
            throw RedisError(.configuration, "the password file \(path) is empty",
                             remedy: "write the password of redis.conf's requirepass on its first line")
        }
        guard !bytes.contains(UInt8(ascii: "\n")), !bytes.contains(UInt8(ascii: "\r")) else {
            throw RedisError(.configuration, "the password file \(path) holds more than one line",
                             remedy: "keep only the password, on one line")
        }
        guard let password = String(validating: bytes, as: UTF8.self) else {
            throw RedisError(.configuration, "the password file \(path) is not UTF-8 text")
        }
        return password
    }
}
