/// One table of the configuration as the schema reads it: typed getters that turn
/// a wrong type into a `ConfigError` naming the file, line and full key path, and a
/// check that refuses keys the schema does not know.
///
/// Schema glue: every settings type reads itself through this, so all errors look
/// the same.
struct ConfigSection {
    let table: TOMLTable
    /// Key path of this table from the top of the file (`["limits", "messages"]`).
    let path: [String]
    /// Where the table was defined, for "missing key" errors; nil for the top level.
    let location: TOMLLocation?
    /// The file to blame when nothing better is known (the top level of a file).
    let file: String

    init(table: TOMLTable, path: [String], location: TOMLLocation?, file: String) {
        self.table = table
        self.path = path
        self.location = location
        self.file = file
    }

    /// An absent table, read as empty (every key takes its default).
    static func empty(path: [String], file: String) -> ConfigSection {
        ConfigSection(table: TOMLTable(), path: path, location: nil, file: file)
    }

    func keyPath(_ key: String) -> String { TOMLKeyPath.join(path + [key]) }

    // MARK: Errors

    /// An error about the value of `key` (at the value's line).
    func error(_ key: String, _ message: String) -> ConfigError {
        if let value = table[key] {
            return ConfigError(file: value.location.file, line: value.line, key: keyPath(key), message: message)
        }
        return ConfigError(file: location?.file ?? file, line: location?.line, key: keyPath(key), message: message)
    }

    /// Refuses any key not in `known`, suggesting the nearest known one.
    func allowOnly(_ known: [String]) throws(ConfigError) {
        for entry in table.entries where !known.contains(entry.key) {
            var message = "unknown key"
            if let suggestion = KeySuggestion.closest(to: entry.key, among: known) {
                message += "; did you mean \(TOMLKeyPath.quotedIfNeeded(suggestion))?"
            } else if known.isEmpty {
                message += "; nothing is expected here"
            } else {
                message += "; expected one of: " + known.map(TOMLKeyPath.quotedIfNeeded).joined(separator: ", ")
            }
            throw ConfigError(file: entry.keyLocation.file, line: entry.keyLocation.line, key: keyPath(entry.key), message: message)
        }
    }

    // MARK: Typed getters (nil when the key is absent)

    func string(_ key: String) throws(ConfigError) -> String? {
        guard let value = table[key] else { return nil }
        guard let string = value.string else { throw error(key, "expected a \"string\", got \(value.summary)") }
        return string
    }

    func bool(_ key: String) throws(ConfigError) -> Bool? {
        guard let value = table[key] else { return nil }
        guard let bool = value.boolean else { throw error(key, "expected true or false, got \(value.summary)") }
        return bool
    }

    func integer(_ key: String) throws(ConfigError) -> Int? {
        guard let value = table[key] else { return nil }
        guard let integer = value.integer else { throw error(key, "expected an integer, got \(value.summary)") }
        return integer
    }

    /// An array whose elements are all strings.
    func strings(_ key: String) throws(ConfigError) -> [String]? {
        guard let value = table[key] else { return nil }
        guard let array = value.array else {
            throw error(key, "expected an array of strings such as [\"a\", \"b\"], got \(value.summary)")
        }
        var strings: [String] = []
        for element in array {
            guard let string = element.string else {
                throw ConfigError(file: element.location.file, line: element.line, key: keyPath(key),
                                  message: "expected an array of strings, but one element is \(element.summary)")
            }
            strings.append(string)
        }
        return strings
    }

    /// A sub-table (`[limits.messages]`, or `messages = { ... }` inline).
    func section(_ key: String, describing expected: String? = nil) throws(ConfigError) -> ConfigSection? {
        guard let value = table[key] else { return nil }
        guard let sub = value.table else {
            throw error(key, "expected a table ([\(keyPath(key))]\(expected.map { " with \($0)" } ?? "")), got \(value.summary)")
        }
        return ConfigSection(table: sub, path: path + [key], location: value.location, file: file)
    }

    /// The sub-table, or an empty one standing for "all defaults".
    func sectionOrEmpty(_ key: String, describing expected: String? = nil) throws(ConfigError) -> ConfigSection {
        try section(key, describing: expected) ?? .empty(path: path + [key], file: file)
    }

    /// Where `key` was written, for errors that concern the key itself.
    func keyLocation(_ key: String) -> TOMLLocation? { table.entry(key)?.keyLocation }

    /// An error about the key itself (at the key's line), e.g. a bad group name.
    func keyError(_ key: String, _ message: String) -> ConfigError {
        let where_ = keyLocation(key) ?? location
        return ConfigError(file: where_?.file ?? file, line: where_?.line, key: keyPath(key), message: message)
    }

    /// An error about something this table lacks.
    func missing(_ key: String, _ what: String) -> ConfigError {
        ConfigError(file: location?.file ?? file, line: location?.line, key: keyPath(key), message: "missing: \(what)")
    }
}
