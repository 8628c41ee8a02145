import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs everything libhdf5 does with an untrusted file in a forked child process, so a file that
/// crashes, hangs or corrupts libhdf5 becomes a one-line `DataError` instead of taking us down.
///
/// Why: libhdf5 1.10 trusts a file's metadata. A damaged global heap (where variable-length
/// strings live) makes `H5HG_read` copy from and to wild addresses, damaged object headers are
/// read out of bounds, and some damaged B-trees loop for ever. In our byte-flip runs about one
/// corrupted file in a few hundred crashed or hung the library, and some "succeeded" while
/// silently corrupting the heap, which surfaced later as an abort in unrelated code. No check
/// made from outside the library catches all of that, so the reader runs in a child: the child
/// reads the file and sends the finished recording back (`RecordingTransfer`); if it dies on a
/// signal or overruns its time, the parent reports the file and the last HDF5 path it touched.
/// The parent itself never parses the file: it reads spike windows with `pread` from the byte
/// ranges the child found (`RawColumn`).
///
/// Linux only; elsewhere, or with `ReaderOptions.isolate = false`, reading is in-process. While
/// the fork happens no thread is inside libhdf5 (`HDF5Lock` is held), so the child's copy of the
/// library is consistent.
public enum Isolation {
    /// Write end of the pipe to the parent, in a probe child; -1 otherwise.
    nonisolated(unsafe) static var traceFD: Int32 = -1

    /// Whether this process is a probe child (nested probes run in-process).
    public static var inProbeChild: Bool { traceFD >= 0 }

    #if os(Linux)
        public static let isSupported = true
    #else
        public static let isSupported = false
    #endif

    /// A generous limit for reading a file of `bytes`: 60 s plus 10 s per 100 MB.
    public static func defaultTimeout(fileBytes bytes: Int) -> Double {
        60 + 10 * Double(bytes) / 100e6
    }

    /// In a probe child, records which HDF5 object is about to be touched (for the crash report).
    static func trace(path: String, field: String) {
        guard traceFD >= 0 else { return }
        send(UInt8(ascii: "P"), Array(field.utf8))
    }

    /// In a probe child, passes a key/value note back to the parent (e.g. the detected format).
    static func note(_ key: String, _ value: String) {
        guard traceFD >= 0 else { return }
        send(UInt8(ascii: "N"), Array((key + "=" + value).utf8))
    }

    /// One frame: tag, payload length (8 bytes, little-endian), payload.
    private static func send(_ tag: UInt8, _ payload: [UInt8]) {
        var frame = [tag]
        withUnsafeBytes(of: UInt64(payload.count).littleEndian) { frame += $0 }
        frame += payload
        var at = 0
        while at < frame.count {
            let n = frame[at...].withUnsafeBytes { write(traceFD, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            at += n
        }
    }

    /// What a probe child reported.
    public struct Outcome: Sendable {
        public var notes: [String: String] = [:]
        /// The child's error, or the crash or timeout that stopped it.
        public var error: DataError?
        /// What `body` returned, when it finished.
        public var result: [UInt8]?
    }

    /// Runs `body` in a forked child and waits up to `timeout` seconds for its result.
    /// Throws only when no child could be started; runs `body` in-process when isolation is
    /// unsupported or this already is a probe child.
    ///
    /// A child forked while another thread of ours held a lock it needs (in the Swift runtime or
    /// libc) would wait for ever. Such a child sleeps, while a file that sends libhdf5 into a
    /// loop keeps it busy: a child that has sent nothing and used no CPU for `deadlockAfter`
    /// seconds while asleep is killed and forked again (3 attempts); a busy one runs until
    /// `timeout`.
    public static func run(file: String, timeout: Double, _ body: () throws -> [UInt8]) throws -> Outcome {
        #if os(Linux)
            guard !inProbeChild else {
                var outcome = Outcome()
                do { outcome.result = try body() } catch let e as DataError { outcome.error = e }
                return outcome
            }
            for _ in 0..<3 {
                if let outcome = try attempt(file: file, timeout: timeout, body) { return outcome }
            }
            throw DataError.io(path: file, reason: "the reader process deadlocked 3 times (busy process?); try again")
        #else
            var outcome = Outcome()
            do { outcome.result = try body() } catch let e as DataError { outcome.error = e }
            return outcome
        #endif
    }

    static let deadlockAfter = 2.0

    /// Reads the child's frames from the pipe (tag byte, little-endian u64 length, payload) and keeps
    /// what they said: progress (`P`, the field being read), notes (`N`), an error (`E`), the result (`R`).
    struct FrameReader {
        var outcome = Outcome()
        var lastField = "/"
        var errorJSON: [UInt8]?
        var finished = false
        var lastHeard = Date()
        private var header: [UInt8] = []  // of the frame being read
        private var frame: [UInt8] = []
        private var frameLength = -1  // payload length, once the header is complete
        private var chunk = [UInt8](repeating: 0, count: 1 << 16)

        mutating func handle(_ tag: UInt8, _ payload: [UInt8]) {
            lastHeard = Date()
            switch tag {
            case UInt8(ascii: "P"): lastField = String(decoding: payload, as: UTF8.self)
            case UInt8(ascii: "E"): errorJSON = payload
            case UInt8(ascii: "R"):
                outcome.result = payload
                finished = true
            case UInt8(ascii: "N"):
                let kv = String(decoding: payload, as: UTF8.self).split(separator: "=", maxSplits: 1).map(String.init)
                if kv.count == 2 { outcome.notes[kv[0]] = kv[1] }
            default: break
            }
        }

        /// Reads whatever is in the (non-blocking) pipe now, frame by frame (a large result goes
        /// straight into a buffer of its own size); false at end of file.
        mutating func drain(_ fd: Int32) -> Bool {
            while true {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 { return errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK }
                if n == 0 { return false }
                var i = 0
                while i < n {
                    if frameLength < 0 {
                        let take = min(9 - header.count, n - i)
                        header += chunk[i..<(i + take)]
                        i += take
                        guard header.count == 9 else { continue }
                        var length: UInt64 = 0
                        for b in 0..<8 { length |= UInt64(header[1 + b]) << (8 * UInt64(b)) }
                        guard length < 1 << 40 else { return false }  // garbage: treat as a dead child
                        frameLength = Int(length)
                        frame = []
                        frame.reserveCapacity(frameLength)
                    }
                    let take = min(frameLength - frame.count, n - i)
                    frame += chunk[i..<(i + take)]
                    i += take
                    if frame.count == frameLength {
                        handle(header[0], frame)
                        header = []
                        frame = []
                        frameLength = -1
                    }
                }
            }
        }
    }

    #if os(Linux)
        /// One child; nil when it did not start in time.
        private static func attempt(file: String, timeout: Double, _ body: () throws -> [UInt8]) throws -> Outcome? {
            var fds: [Int32] = [-1, -1]
            guard pipe(&fds) == 0 else {
                throw DataError.io(path: file, reason: "cannot create a pipe (errno \(errno))")
            }
            HDF5Lock.lock()
            let pid = fork()
            if pid == 0 {
                runChild(writeFD: fds[1], readFD: fds[0], body)
            }
            HDF5Lock.unlock()
            close(fds[1])
            defer { close(fds[0]) }
            guard pid > 0 else {
                throw DataError.io(path: file, reason: "cannot fork a reader process (errno \(errno))")
            }

            _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
            var frames = FrameReader()
            let deadline = Date().addingTimeInterval(timeout)
            var timedOut = false
            var status: Int32 = 0
            var reaped = false
            var lastCPU: UInt64 = 0
            var cpuSince = Date()
            // Until the child reports, exits or runs out of time. End of file alone is not enough:
            // another thread's probe child may hold a copy of our pipe for a moment.
            while true {
                let open = frames.drain(fds[0])
                if frames.finished || frames.errorJSON != nil || !open { break }
                if waitpid(pid, &status, WNOHANG) == pid {
                    reaped = true
                    _ = frames.drain(fds[0])
                    break
                }
                if -frames.lastHeard.timeIntervalSinceNow > deadlockAfter, let (state, cpu) = processStat(pid) {
                    if cpu != lastCPU {
                        lastCPU = cpu
                        cpuSince = Date()
                    }
                    if state == "S" && -cpuSince.timeIntervalSinceNow > deadlockAfter {
                        kill(pid, SIGKILL)
                        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                        return nil
                    }
                }
                let remaining = deadline.timeIntervalSinceNow
                if remaining <= 0 {
                    timedOut = true
                    break
                }
                var pfd = pollfd(fd: fds[0], events: Int16(POLLIN), revents: 0)
                _ = poll(&pfd, 1, Int32(min(remaining, 0.05) * 1000) + 1)
            }
            if timedOut { kill(pid, SIGKILL) }
            if !reaped { while waitpid(pid, &status, 0) < 0 && errno == EINTR {} }

            return verdict(frames, status: status, timedOut: timedOut, file: file, timeout: timeout)
        }

        /// The outcome once the child is gone: its result, or the error it reported, or what stopped it.
        private static func verdict(_ frames: FrameReader, status: Int32, timedOut: Bool, file: String, timeout: Double)
            -> Outcome
        {
            var outcome = frames.outcome
            let lastField = frames.lastField
            let signal = status & 0x7f
            if timedOut {
                outcome.error = .invalid(
                    file: file, field: lastField,
                    reason: String(format: "reading did not finish within %.0f s (corrupt file?)", timeout))
            } else if let errorJSON = frames.errorJSON {
                outcome.error =
                    (try? JSONDecoder().decode(DataError.self, from: Data(errorJSON)))
                    ?? .invalid(file: file, field: lastField, reason: String(decoding: errorJSON, as: UTF8.self))
            } else if frames.finished {
                return outcome
            } else if signal != 0 {
                outcome.error = .invalid(
                    file: file, field: lastField,
                    reason: "reading it crashed libhdf5 (signal \(signal)); the file is corrupt")
            } else {
                outcome.error = .invalid(
                    file: file, field: lastField,
                    reason: "the reader process stopped with status \((status >> 8) & 0xff)")
            }
            outcome.result = nil
            return outcome
        }

        /// State letter and user + system CPU ticks of a process, from `/proc/<pid>/stat`.
        static func processStat(_ pid: pid_t) -> (Character, UInt64)? {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = text.lastIndex(of: ")")
            else { return nil }
            let fields = text[text.index(after: close)...].split(separator: " ")
            guard fields.count > 13, let state = fields[0].first,
                let user = UInt64(fields[11]), let system = UInt64(fields[12])
            else { return nil }
            return (state, user + system)
        }

        /// The child side: default signal actions (so a crash ends it quietly, without Swift's
        /// backtracer), no core files, run the body, report, `_exit` (never flush the parent's buffers).
        /// Inherited descriptors stay open: libhdf5 in the child shares the parent's open files (it
        /// would reuse them when the same file is opened again), and we disable HDF5's `flock`
        /// locking, so a copied descriptor blocks nobody.
        private static func runChild(writeFD: Int32, readFD: Int32, _ body: () throws -> [UInt8]) -> Never {
            HDF5Lock.reinitializeInChild()
            close(readFD)
            // The parent reports a crash in one line; the runtime's own crash message is noise.
            let null = open("/dev/null", O_WRONLY)
            if null >= 0 {
                dup2(null, 2)
                close(null)
            }
            for s in [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP] { signal(s, SIG_DFL) }
            var noCore = rlimit(rlim_cur: 0, rlim_max: 0)
            setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &noCore)
            traceFD = writeFD
            do {
                let result = try body()
                send(UInt8(ascii: "R"), result)
            } catch let e as DataError {
                send(UInt8(ascii: "E"), (try? JSONEncoder().encode(e)).map { [UInt8]($0) } ?? Array("\(e)".utf8))
            } catch {
                send(UInt8(ascii: "E"), Array("\(error)".utf8))
            }
            _exit(0)
        }
    #endif
}
