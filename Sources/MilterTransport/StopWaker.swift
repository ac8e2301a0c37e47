internal import CMilter
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Wakes libmilter's listener once a stop has begun, so `smfi_main` returns at once.
///
/// Why: libmilter's signal thread answers SIGTERM by setting its stop flag and then
/// closing the listening socket under the listener's mutex; the listener holds that
/// mutex across a 5 s `poll()` and only then sees the flag. A signal sent to the
/// listener's own thread ends the poll with EINTR, after which the listener checks
/// the flag and returns.
///
/// How: a thread reads libmilter's flag (`mi_stop()`, a plain load) every 50 ms and,
/// once it is set, sends `SIGUSR2` to the listener every 50 ms until `smfi_main`
/// returns (the first may land just before the poll starts). SIGUSR2's handler does
/// nothing and has no SA_RESTART. The listener is the thread calling `run()`, and
/// only it is sent the signal; libmilter's workers never see it.
///
/// Known limitations: 20 wake-ups a second of one thread while serving (a load and a
/// nanosleep each). Being told of the stop would be better, but libmilter's signal
/// thread takes SIGTERM with `sigwait`, and a second waiter would race it for the
/// signal.
final class StopWaker: @unchecked Sendable {
    // @unchecked: `listener` and `thread` are written before the thread starts or
    // after it is joined; `finished` is atomic.
    private let listener: pthread_t
    private var thread: pthread_t?
    private let finished = Atomic<Bool>(false)
    static let signal = SIGUSR2
    static let interval: useconds_t = 50_000

    init(listener: pthread_t) { self.listener = listener }

    func start() {
        _ = vigie_install_milter_wakeup(Self.signal)
        let context = Unmanaged.passRetained(self).toOpaque()
        var created = pthread_t()
        let status = pthread_create(&created, nil, { context in
            let waker = Unmanaged<StopWaker>.fromOpaque(context!).takeRetainedValue()
            waker.watch()
            return nil
        }, context)
        if status == 0 {
            thread = created
        } else {
            // No waker: stopping takes up to libmilter's 5 s again, nothing worse.
            Unmanaged<StopWaker>.fromOpaque(context).release()
        }
    }

    private func watch() {
        while !finished.load(ordering: .acquiring) {
            usleep(Self.interval)
            if mi_stop() != 0 && !finished.load(ordering: .acquiring) { pthread_kill(listener, Self.signal) }
        }
    }

    /// Called by the listener once `smfi_main` returned: no signal is sent after this.
    func finish() {
        finished.store(true, ordering: .releasing)
        if let thread { pthread_join(thread, nil) }
    }
}
