internal import CSQLite

/// One compiled statement. Owns the `sqlite3_stmt *` and finalizes it in `deinit`.
///
/// Parameters and columns are numbered as in SQL: parameters from 1 (`?1`),
/// columns from 0. Reuse a statement for many rows with `reset()` and new bindings:
/// compiling is most of the cost of a small INSERT.
final class SQLiteStatement {
    /// Kept so the connection outlives every statement compiled on it.
    let connection: SQLiteConnection
    let sql: String
    private let handle: OpaquePointer

    /// The corresponding C function is `sqlite3_prepare_v2`.
    init(connection: SQLiteConnection, sql: String) throws {
        self.connection = connection
        self.sql = sql
        var prepared: OpaquePointer?
        let status = sqlite3_prepare_v2(connection.rawHandle, sql, -1, &prepared, nil)
        guard status == SQLITE_OK, let prepared else {
            sqlite3_finalize(prepared)
            throw connection.error(status, sql: sql)
        }
        handle = prepared
    }

    deinit {
        sqlite3_finalize(handle)
    }

    // MARK: Binding

    /// The corresponding C function is `sqlite3_bind_int64`.
    func bind(_ value: Int64, at index: Int32) throws {
        try check(sqlite3_bind_int64(handle, index, value))
    }

    func bind(_ value: Bool, at index: Int32) throws {
        try bind(value ? 1 as Int64 : 0, at: index)
    }

    /// Binds a copy of the text (SQLITE_TRANSIENT), so `value` need not outlive the call.
    /// The corresponding C function is `sqlite3_bind_text`.
    func bind(_ value: String, at index: Int32) throws {
        var value = value
        let status = value.withUTF8 { utf8 in
            sqlite3_bind_text(handle, index, utf8.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) },
                              Int32(utf8.count), vigie_sqlite_transient())
        }
        try check(status)
    }

    func bind(_ value: String?, at index: Int32) throws {
        if let value { try bind(value, at: index) } else { try bindNull(at: index) }
    }

    /// Binds a copy of the bytes. The corresponding C function is `sqlite3_bind_blob`.
    func bind(blob bytes: UnsafeRawBufferPointer, at index: Int32) throws {
        // A nil base address would bind NULL instead of an empty blob.
        guard let base = bytes.baseAddress, !bytes.isEmpty else {
            try check(sqlite3_bind_zeroblob(handle, index, 0))
            return
        }
        try check(sqlite3_bind_blob(handle, index, base, Int32(bytes.count), vigie_sqlite_transient()))
    }

    /// The corresponding C function is `sqlite3_bind_null`.
    func bindNull(at index: Int32) throws {
        try check(sqlite3_bind_null(handle, index))
    }

    // MARK: Running

    /// Runs the statement to its next row. True when a row is ready to read, false
    /// when the statement is done. The corresponding C function is `sqlite3_step`.
    @discardableResult
    func step() throws -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let status: throw connection.error(status, sql: sql)
        }
    }

    /// Runs a statement that returns no rows.
    func run() throws {
        while try step() {}
    }

    /// Readies the statement to run again, keeping its bindings.
    /// The corresponding C function is `sqlite3_reset`.
    func reset() {
        // sqlite3_reset repeats the error of the last step, already thrown by step().
        _ = sqlite3_reset(handle)
    }

    // MARK: Reading columns

    /// The corresponding C function is `sqlite3_column_int64`.
    func int64(at column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    func bool(at column: Int32) -> Bool {
        int64(at: column) != 0
    }

    func isNull(at column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    /// The column as text; NULL reads as the empty string.
    func text(at column: Int32) -> String {
        optionalText(at: column) ?? ""
    }

    /// The corresponding C function is `sqlite3_column_text`.
    func optionalText(at column: Int32) -> String? {
        guard let bytes = sqlite3_column_text(handle, column) else { return nil }
        // column_bytes after column_text: the order SQLite documents as safe.
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    /// Calls `body` with the column's bytes, valid only during the call (SQLite may
    /// reuse the buffer at the next step). The corresponding C function is `sqlite3_column_blob`.
    func withBlob<Result>(at column: Int32, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        let base = sqlite3_column_blob(handle, column)
        let count = Int(sqlite3_column_bytes(handle, column))
        return try body(UnsafeRawBufferPointer(start: base, count: base == nil ? 0 : count))
    }

    private func check(_ status: Int32) throws {
        guard status == SQLITE_OK else { throw connection.error(status, sql: sql) }
    }
}
