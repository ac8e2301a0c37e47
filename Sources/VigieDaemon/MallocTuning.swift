import CMalloc
import Glibc

/// glibc malloc settings for a daemon that holds one compact entry per account and,
/// once a second, builds and frees large transient arrays (the flush's list of
/// changed accounts: 100k accounts make ~30 MB).
///
/// glibc raises its mmap threshold to the size of any mmapped block freed (up to
/// 32 MiB), so after the first big flush every later one is carved from the heap,
/// and the freed space stays resident as holes between the account tables. A fixed
/// threshold keeps large blocks mmapped and returned to the kernel when freed: the
/// daemon with 100k tracked accounts went from 674 to 538 bytes per account
/// (benchmarks/README.md, "Memory"). Two arenas, as the systemd units already ask,
/// bound the per-thread arenas libmilter's thread per connection would create.
/// An operator's own MALLOC_* environment wins over both.
enum MallocTuning {
    static let mmapThreshold: Int32 = 128 * 1024
    static let arenas: Int32 = 2

    static func apply() {
        if getenv("MALLOC_MMAP_THRESHOLD_") == nil { _ = mallopt(M_MMAP_THRESHOLD, mmapThreshold) }
        if getenv("MALLOC_ARENA_MAX") == nil { _ = mallopt(M_ARENA_MAX, arenas) }
    }
}
