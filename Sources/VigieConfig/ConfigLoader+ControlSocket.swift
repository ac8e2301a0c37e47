import Foundation

extension ConfigLoader {
    /// Where the control socket is, read leniently: the main file and each conf.d file
    /// that parses, last one winning, with nothing else checked.
    ///
    /// vigiectl needs only this one value. Reading it strictly would make a broken
    /// conf.d file lock the admin out of `vigiectl reload`, the very command that
    /// reports what is wrong with it (the daemon then answers with file, line and key).
    public static func controlSocketPath(configPath path: String) -> String? {
        let mainFile = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var files = [mainFile]
        let confD = confDirectory(forMainFile: mainFile)
        if let names = try? FileManager.default.contentsOfDirectory(atPath: confD) {
            files += names.filter { $0.hasSuffix(".toml") && !$0.hasPrefix(".") }.sorted().map { confD + "/" + $0 }
        }
        var found: String?
        for file in files {
            guard let data = FileManager.default.contents(atPath: file),
                  let document = try? TOMLDocument(parsing: data, file: file),
                  let socket = document.root["daemon"]?.table?["control_socket"]?.string
            else { continue }
            found = socket
        }
        return found
    }
}
