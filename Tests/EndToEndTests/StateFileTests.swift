// End to end: what the state directory holds after a clean stop, and `vigiectl backup`.

import Foundation
import Testing
import VigieCore
import VigieStore
import VigieTestKit

@Suite("The state file after a stop, and vigiectl backup (real daemon)", .serialized)
struct StateFileTests {
    @Test("after a clean stop state.sqlite alone holds the locks; vigiectl backup makes a whole copy while it runs")
    func cleanStopAndBackup() throws {
        let vigie = try VigieUnderTest(startPostfix: false)
        let lock = try vigie.ctl("lock", "daemon", "--reason", "password leaked")
        #expect(lock.succeeded, "\(lock)")

        let backupPath = vigie.directory + "/backup.sqlite"
        let backup = try vigie.ctl("backup", backupPath)
        #expect(backup.succeeded, "\(backup)")
        #expect(backup.stdout.contains("1 locks in force"), "\(backup)")

        #expect(vigie.stopDaemon() == 0)
        // What a backup that copies only the database file would keep.
        let mainOnly = vigie.directory + "/main-only.sqlite"
        try FileManager.default.copyItem(atPath: vigie.statePath, toPath: mainOnly)

        for copy in [mainOnly, backupPath] {
            let locks = try SQLiteStateStore(path: copy).activeLocks()
            #expect(locks.map(\.account) == ["daemon"], "\(copy)")
            #expect(locks.first?.reason == "password leaked", "\(copy)")
        }
    }

    @Test("vigiectl backup refuses a directory as FILE in one line")
    func backupErrors() throws {
        let vigie = try VigieUnderTest(startPostfix: false)
        let refused = try vigie.ctl("backup", vigie.directory)
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stderr.contains("is a directory"), "\(refused)")
        #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused)")
    }
}
