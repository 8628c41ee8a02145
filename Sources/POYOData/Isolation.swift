import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs everything libhdf5 does with an untrusted file in a separate reader process, so a file
/// that crashes, hangs or corrupts libhdf5 becomes a one-line `DataError` instead of taking us down.
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
/// The child is a fresh process (`posix_spawn` of the `poyo` executable with the hidden
/// subcommand `Isolation.childCommand`), not a `fork()` of this one: a forked copy of a
/// multi-threaded process can inherit a lock another thread held (in libc, the Swift runtime or
/// libhdf5) and wait for ever. A spawned child starts single-threaded with nothing held.
///
/// The executable: `$POYO_READER` when set, else `poyo` in the folder of the running executable
/// (so `poyo`, `poyo-bench` and the test runner in `.build/<config>/` all find it).
/// Linux only; elsewhere, or with `ReaderOptions.isolate = false`, reading is in-process.
public enum Isolation {
    /// The hidden subcommand that makes `poyo` a reader process (`childMain`).
    public static let childCommand = "__read-recording"

    /// The descriptor the child writes its frames to (the parent's pipe).
    static let childResultFD: Int32 = 3

    /// Write end of the pipe to the parent, in a reader child; -1 otherwise.
    nonisolated(unsafe) static var traceFD: Int32 = -1

    /// Whether this process is a reader child (nested reads run in-process).
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

    /// In a reader child, records which HDF5 object is about to be touched (for the crash report).
    static func trace(path: String, field: String) {
        guard traceFD >= 0 else { return }
        send(UInt8(ascii: "P"), Array(field.utf8))
    }

    /// In a reader child, passes a key/value note back to the parent (e.g. the detected format).
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

    /// What a reader child reported.
    public struct Outcome: Sendable {
        public var notes: [String: String] = [:]
        /// The child's error, or the crash or timeout that stopped it.
        public var error: DataError?
        /// What the job returned, when it finished.
        public var result: [UInt8]?
    }

    /// What a reader child is asked to do.
    indirect enum Job: Codable {
        /// Read a recording (`RecordingReader.loadInProcess`) and return `RecordingTransfer` bytes.
        case read(path: String, options: ReaderOptions)
        /// Several jobs in turn in one child (`runBatch`), so a child's start-up (the Swift runtime
        /// and libhdf5, about 90 ms of CPU) is paid once for all of them, not once per file.
        case batch([Job])
        /// Behave in a set way, so tests can check every path of the protocol with a real child.
        case exercise(Exercise)
    }

    /// Test behaviours of a reader child (`Job.exercise`).
    enum Exercise: Codable {
        /// Note `format=nwb`, return `bytes` bytes of 7.
        case echo(bytes: Int)
        /// Throw `DataError.missing(file, field)`.
        case fail(file: String, field: String)
        /// Trace `field`, then trap.
        case crash(field: String)
        /// Loop without end.
        case spin
        /// Return the child's process id (4 bytes, little-endian): which child did a job.
        case processID
    }

    /// Runs `job` in a reader child and waits up to `timeout` seconds for its result. Throws only
    /// when no child could be started; runs the job in-process when isolation is unsupported or
    /// this already is a reader child.
    /// `reader`: the executable to start instead of `readerExecutable` (tests).
    static func run(file: String, timeout: Double, job: Job, reader: String? = nil) throws -> Outcome {
        #if os(Linux)
            guard !inProbeChild else {
                var outcome = Outcome()
                do { outcome.result = try perform(job) } catch let e as DataError { outcome.error = e }
                return outcome
            }
            return try spawnAndWait(files: [file], timeouts: [timeout], job: job, reader: reader)[0]
        #else
            var outcome = Outcome()
            do { outcome.result = try perform(job) } catch let e as DataError { outcome.error = e }
            return outcome
        #endif
    }

    /// The longest job description `runBatch` gives one child (an argument may be 128 KiB).
    static let maxJobBytes = 100_000

    /// Runs `jobs` (one per file of `files`, each with its limit in `timeouts`) in one reader child,
    /// one after another, and returns an outcome per job, as `run` would have. When the child dies
    /// or overruns on a job, that job gets the crash or timeout; the jobs after it run again in a
    /// new child, so one corrupt file costs no other file its result.
    static func runBatch(files: [String], timeouts: [Double], jobs: [Job], reader: String? = nil) throws -> [Outcome] {
        precondition(files.count == jobs.count && timeouts.count == jobs.count, "one file and limit per job")
        #if os(Linux)
            // The job travels as one argument of the child (at most 128 KiB on Linux): a batch
            // whose description is longer is halved.
            let described = jobs.count > 1 ? try JSONEncoder().encode(Job.batch(jobs)).count : 0
            if described > maxJobBytes {
                let half = jobs.count / 2
                let first = try runBatch(
                    files: Array(files[..<half]), timeouts: Array(timeouts[..<half]), jobs: Array(jobs[..<half]),
                    reader: reader)
                return try first
                    + runBatch(
                        files: Array(files[half...]), timeouts: Array(timeouts[half...]), jobs: Array(jobs[half...]),
                        reader: reader)
            }
            if jobs.count > 1 && !inProbeChild {
                var outcomes = try spawnAndWait(files: files, timeouts: timeouts, job: .batch(jobs), reader: reader)
                if outcomes.count < jobs.count {
                    let rest = outcomes.count
                    outcomes += try runBatch(
                        files: Array(files[rest...]), timeouts: Array(timeouts[rest...]), jobs: Array(jobs[rest...]),
                        reader: reader)
                }
                return outcomes
            }
        #endif
        return try jobs.indices.map { try run(file: files[$0], timeout: timeouts[$0], job: jobs[$0], reader: reader) }
    }

    /// Does a job where we are (in the child, or in-process).
    static func perform(_ job: Job) throws -> [UInt8] {
        switch job {
        case .batch:
            throw DataError.io(path: "", reason: "a batch of reads is done job by job (runBatch)")
        case .read(let path, let options):
            var ignored: RecordingFormat?
            let url = URL(fileURLWithPath: path)
            return try RecordingTransfer.encode(RecordingReader.loadInProcess(url, options, detected: &ignored))
        case .exercise(.echo(let bytes)):
            note("format", "nwb")
            return [UInt8](repeating: 7, count: bytes)
        case .exercise(.fail(let file, let field)):
            throw DataError.missing(file: file, field: field)
        case .exercise(.crash(let field)):
            trace(path: "", field: field)
            let nothing: [Int] = []
            return [UInt8(nothing[nothing.count + 1])]  // traps (index out of range)
        case .exercise(.spin):
            var x = 0.0
            while x >= 0 { x += 1 }
            return []
        case .exercise(.processID):
            return withUnsafeBytes(of: UInt32(getpid()).littleEndian) { Array($0) }
        }
    }

    /// What a child said about one job.
    struct JobFrames {
        var outcome = Outcome()
        var lastField = "/"
        var errorJSON: [UInt8]?
        var finished = false
        /// Whether the job ended with its result or its error.
        var ended: Bool { finished || errorJSON != nil }
    }

    /// Reads the child's frames from the pipe (tag byte, little-endian u64 length, payload) and keeps
    /// what they said: progress (`P`, the field being read), notes (`N`), an error (`E`), the result
    /// (`R`); in a batch, `B` starts the next job.
    struct FrameReader {
        /// The job under way (the only one outside a batch).
        var job = JobFrames()
        /// In a batch: the jobs that ended before it, in order.
        var done: [JobFrames] = []
        /// `B` frames seen: the number of jobs a batch child has started.
        var begun = 0
        private var header: [UInt8] = []  // of the frame being read
        private var frame: [UInt8] = []
        private var frameLength = -1  // payload length, once the header is complete
        private var chunk = [UInt8](repeating: 0, count: 1 << 16)

        /// Whether any frame arrived (a child that is not a poyo reader sends none).
        var heardAnything = false

        mutating func handle(_ tag: UInt8, _ payload: [UInt8]) {
            heardAnything = true
            switch tag {
            case UInt8(ascii: "B"):
                if begun > 0 { done.append(job) }
                begun += 1
                job = JobFrames()
            case UInt8(ascii: "P"): job.lastField = String(decoding: payload, as: UTF8.self)
            case UInt8(ascii: "E"): job.errorJSON = payload
            case UInt8(ascii: "R"):
                job.outcome.result = payload
                job.finished = true
            case UInt8(ascii: "N"):
                let kv = String(decoding: payload, as: UTF8.self).split(separator: "=", maxSplits: 1).map(String.init)
                if kv.count == 2 { job.outcome.notes[kv[0]] = kv[1] }
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

    /// The reader executable: `$POYO_READER`, else `poyo` beside the running executable.
    static func readerExecutable(
        for file: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> String {
        if let path = environment["POYO_READER"], !path.isEmpty {
            guard access(path, X_OK) == 0 else {
                throw DataError.io(
                    path: file, reason: "cannot start the reader process: POYO_READER=\(path) is not executable")
            }
            return path
        }
        let running =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let folder = URL(fileURLWithPath: running).deletingLastPathComponent()
        let candidate = folder.appendingPathComponent("poyo").path
        guard access(candidate, X_OK) == 0 else {
            throw DataError.io(
                path: file,
                reason: "cannot start the reader process: no poyo executable in \(folder.path) "
                    + "(build it with `swift build`, or set POYO_READER to the poyo binary)")
        }
        return candidate
    }

    /// The child side, called by `poyo` when its first argument is `childCommand`; the job is the
    /// second argument (JSON). Frames go to descriptor 3. A crash ends the child quietly, without
    /// a core file or Swift's backtracer; `_exit` afterwards, so nothing else runs.
    public static func childMain(_ arguments: [String]) -> Never {
        #if os(Linux)
            for s in [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP] { signal(s, SIG_DFL) }
            var noCore = rlimit(rlim_cur: 0, rlim_max: 0)
            setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &noCore)
        #endif
        traceFD = childResultFD
        guard arguments.count == 3, let job = try? JSONDecoder().decode(Job.self, from: Data(arguments[2].utf8))
        else {
            send(UInt8(ascii: "E"), Array("the reader process could not decode its job".utf8))
            _exit(2)
        }
        if case .batch(let jobs) = job {
            for (i, each) in jobs.enumerated() {
                send(UInt8(ascii: "B"), withUnsafeBytes(of: UInt64(i).littleEndian) { Array($0) })
                performAndSend(each)
            }
        } else {
            performAndSend(job)
        }
        _exit(0)
    }

    /// In a reader child: does `job` and sends its result (`R`) or error (`E`).
    private static func performAndSend(_ job: Job) {
        do {
            send(UInt8(ascii: "R"), try perform(job))
        } catch let e as DataError {
            send(UInt8(ascii: "E"), (try? JSONEncoder().encode(e)).map { [UInt8]($0) } ?? Array("\(e)".utf8))
        } catch {
            send(UInt8(ascii: "E"), Array("\(error)".utf8))
        }
    }

    #if os(Linux)
        /// Starts a reader child for `job`, collects its frames until it finishes, fails, dies
        /// or runs out of time, and reaps it. A `.batch` job has a file and a limit per job (the
        /// limit counts from the job's start) and returns the outcomes of the jobs that ended,
        /// plus the one the child died or overran on; others have one file and one outcome.
        private static func spawnAndWait(files: [String], timeouts: [Double], job: Job, reader: String?) throws
            -> [Outcome]
        {
            let batch = files.count
            let file = files[0]
            let executable = try reader ?? readerExecutable(for: file)
            let jobText = String(decoding: try JSONEncoder().encode(job), as: UTF8.self)
            // Close-on-exec, so no other child (ours or another thread's) keeps the write end
            // open: end of file then means this child is gone.
            var fds: [Int32] = [-1, -1]
            guard pipeCloseOnExec(&fds) == 0 else {
                throw DataError.io(path: file, reason: "cannot create a pipe (errno \(errno))")
            }
            defer { close(fds[0]) }
            let pid: pid_t
            do {
                defer { close(fds[1]) }
                pid = try spawn(executable, arguments: [childCommand, jobText], resultFD: fds[1], file: file)
            }

            _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
            var frames = FrameReader()
            var deadline = Date().addingTimeInterval(timeouts[0])
            var timedOut = false
            var started = 0  // jobs begun when the deadline was last set
            let isBatch = if case .batch = job { true } else { false }
            // Outside a batch the job counts as begun; in one, until every job has ended.
            func running() -> Bool { isBatch ? !(frames.begun == batch && frames.job.ended) : !frames.job.ended }
            while frames.drain(fds[0]) && running() {
                if frames.begun > started {
                    started = frames.begun
                    deadline = Date().addingTimeInterval(timeouts[min(started, batch) - 1])
                }
                let remaining = deadline.timeIntervalSinceNow
                if remaining <= 0 {
                    timedOut = true
                    break
                }
                var pfd = pollfd(fd: fds[0], events: Int16(POLLIN), revents: 0)
                _ = poll(&pfd, 1, Int32(min(remaining, 1) * 1000) + 1)
            }
            let status = reap(pid, killNow: timedOut, deadline: deadline)
            guard isBatch else {
                return [
                    verdict(
                        frames.job, heard: frames.heardAnything, status: status, timedOut: timedOut, file: file,
                        timeout: timeouts[0])
                ]
            }
            // The jobs that ended, then the one under way when the child stopped (or the first, when
            // it stopped before starting any: a child that could not decode its batch).
            var outcomes = frames.done.enumerated().map { i, job in
                verdict(job, heard: true, status: 0, timedOut: false, file: files[i], timeout: timeouts[i])
            }
            let current = min(max(frames.begun, 1), batch) - 1
            outcomes.append(
                verdict(
                    frames.job, heard: frames.heardAnything, status: status, timedOut: timedOut, file: files[current],
                    timeout: timeouts[current]))
            return outcomes
        }

        /// glibc's `pipe2(fds, O_CLOEXEC)` (not in Swift's Glibc module): both ends close-on-exec
        /// from the start, so no other thread's child can inherit them in between.
        private static func pipeCloseOnExec(_ fds: inout [Int32]) -> Int32 {
            typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pipe2") else {
                errno = ENOSYS
                return -1
            }
            return fds.withUnsafeMutableBufferPointer {
                unsafeBitCast(symbol, to: Pipe2.self)($0.baseAddress!, O_CLOEXEC)
            }
        }

        /// `posix_spawn` with descriptors 0–2 on /dev/null, `resultFD` as descriptor 3, default
        /// signal actions, an empty signal mask and Swift's backtracer off.
        private static func spawn(_ executable: String, arguments: [String], resultFD: Int32, file: String) throws
            -> pid_t
        {
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_adddup2(&actions, resultFD, childResultFD)
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
            var attributes = posix_spawnattr_t()
            posix_spawnattr_init(&attributes)
            defer { posix_spawnattr_destroy(&attributes) }
            var all = sigset_t()
            sigfillset(&all)
            posix_spawnattr_setsigdefault(&attributes, &all)
            var none = sigset_t()
            sigemptyset(&none)
            posix_spawnattr_setsigmask(&attributes, &none)
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

            var environment = ProcessInfo.processInfo.environment
            environment["SWIFT_BACKTRACE"] = "enable=no"
            let argv = ([executable] + arguments).map { strdup($0) } + [nil]
            let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
            defer { for p in argv + envp { free(p) } }
            var pid: pid_t = 0
            let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
            guard rc == 0 else {
                throw DataError.io(
                    path: file,
                    reason: "cannot start the reader process \(executable) (\(String(cString: strerror(rc))))")
            }
            return pid
        }

        /// Waits for the child until `deadline` (it has reported, or closed its pipe by exiting),
        /// killing it first when `killNow` or when it outstays the deadline; its wait status.
        private static func reap(_ pid: pid_t, killNow: Bool, deadline: Date) -> Int32 {
            var status: Int32 = 0
            if !killNow {
                while Date() < deadline {
                    let r = waitpid(pid, &status, WNOHANG)
                    if r == pid || (r < 0 && errno != EINTR) { return status }
                    usleep(2000)
                }
            }
            kill(pid, SIGKILL)
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            return status
        }

        /// The outcome once the child is gone: its result, or the error it reported, or what stopped it.
        private static func verdict(
            _ frames: JobFrames, heard: Bool, status: Int32, timedOut: Bool, file: String, timeout: Double
        ) -> Outcome {
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
            } else if !heard {
                outcome.error = .io(
                    path: file,
                    reason: "the reader process exited (status \((status >> 8) & 0xff)) without a word: "
                        + "is POYO_READER (or the poyo beside this program) a poyo binary of this version?")
            } else {
                outcome.error = .invalid(
                    file: file, field: lastField,
                    reason: "the reader process stopped with status \((status >> 8) & 0xff)")
            }
            outcome.result = nil
            return outcome
        }

    #endif
}
