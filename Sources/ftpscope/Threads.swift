#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Threads and a condition variable on POSIX threads (locks and atomics come from the standard
// library's Synchronization). Foundation's Thread, NSLock and NSCondition were the only reason
// to link all of Foundation, and with the Swift runtime linked statically (scripts/build-release)
// that carried ICU and its 34 MB of data into a packet tool that never formats a date or a
// number by locale.

/// A thread started with `startThread`, waited for with `join`.
final class JoinableThread: @unchecked Sendable {
    private let thread: pthread_t
    private var joined = false

    fileprivate init(_ thread: pthread_t) { self.thread = thread }

    /// Waits until the thread has ended: its body returned, what the body held released, and
    /// the thread's own storage torn down (libcrypto frees its per-thread state then). The
    /// owner calls it once, from one thread; later calls return at once.
    func join() {
        guard !joined else { return }
        joined = true
        precondition(pthread_join(thread, nil) == 0, "pthread_join failed")
    }
}

/// Starts `body` on a new thread of its own, named `name` (at most 15 bytes: what `top -H` and
/// `perf` show). Joinable, not detached: a detached thread could still be releasing what its
/// body held (the analyzer, the key log's caches) while the process exited, which
/// LeakSanitizer reported, now and then, as leaks.
func startThread(name: String, _ body: @escaping () -> Void) -> JoinableThread {
    final class Box {
        let name: String, body: () -> Void
        init(_ name: String, _ body: @escaping () -> Void) { self.name = name; self.body = body }
    }
    let box = Unmanaged.passRetained(Box(name, body)).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { raw in
        let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
        nameThisThread(box.name)
        box.body()
        return nil
    }, box)
    precondition(rc == 0, "pthread_create failed: \(rc)")
    return JoinableThread(thread)
}

/// Linux keeps a thread's name in /proc/thread-self/comm (where pthread_setname_np writes it;
/// Swift's Glibc module does not export that GNU extension); 15 bytes at most.
private func nameThisThread(_ name: String) {
    #if os(Linux)
    let fd = open("/proc/thread-self/comm", O_WRONLY)
    guard fd >= 0 else { return }
    let bytes = Array(name.utf8.prefix(15))
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
    #endif
}

/// A mutex with a condition variable, used as NSCondition was: lock, wait in a loop on the
/// predicate, broadcast after a change, unlock.
final class Condition: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        precondition(pthread_mutex_init(mutex, nil) == 0)
        precondition(pthread_cond_init(cond, nil) == 0)
    }
    deinit {
        pthread_cond_destroy(cond); cond.deallocate()
        pthread_mutex_destroy(mutex); mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    /// Releases the lock while waiting; holds it again on return. Wakes spuriously: loop.
    func wait() { pthread_cond_wait(cond, mutex) }
    func broadcast() { pthread_cond_broadcast(cond) }
}
