import ArgumentParser
import Foundation
import POYO
import POYOData

/// `poyo stream`: a checkpoint decoding a spike stream on a fixed clock (docs/streaming.md).
struct Stream: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode a spike stream in real time: spikes in, behaviour out every --every seconds.",
        discussion: """
            Spikes come from standard input, one per line as `TIME UNIT` (seconds, then the unit's id \
            or its number in the session's unit list; `#` starts a comment), or with --binary as \
            12-byte records (float64 time, int32 unit number, little-endian); or from a recording \
            with --replay. Times must not decrease. Every --every seconds of stream time the model \
            decodes the spikes of the last second and prints `t,v0,v1,…` (behaviour units). On exit, \
            stderr gets the latency of the updates (p50, p99, p99.9, max) and the deadline misses.
            """)

    @Option(help: "checkpoint.safetensors, or a run folder.") var checkpoint: String
    @Option(help: "The session to decode (default with --replay: the recording's).") var session: String?
    @Option(help: "A recording (.h5, .nwb) whose spikes are streamed instead of standard input.") var replay: String?
    @Option(help: "With --replay: 1 paces the stream in real time, max streams as fast as it can.")
    var speed: String = "max"
    @Option(help: "Decode every this many seconds of stream time.") var every = 0.02
    @Option(help: "With --replay: stream only this many seconds from the recording's first spike.")
    var duration: Double?
    @Option(help: "An update slower than this many seconds counts as a miss.") var deadline: Double?
    @Flag(help: "Read standard input as binary records (float64 time, int32 unit), not text.") var binary = false
    @OptionGroup var deviceOptions: DeviceOptions

    func validate() throws {
        guard every > 0, every.isFinite else { throw ValidationError("--every must be a positive number of seconds") }
        if let deadline, !(deadline > 0) { throw ValidationError("--deadline must be positive") }
        guard speed == "max" || (Double(speed).map { $0 > 0 && $0.isFinite } ?? false) else {
            throw ValidationError("--speed must be max or a positive factor (1 = real time)")
        }
        if replay != nil && binary { throw ValidationError("--binary reads standard input; not with --replay") }
        if replay == nil && speed != "max" { throw ValidationError("--speed paces --replay only") }
        if let duration {
            guard duration > 0 else { throw ValidationError("--duration must be positive") }
            guard replay != nil else { throw ValidationError("--duration limits --replay only") }
        }
    }

    func run() throws {
        try runReportingErrors {
            let device = try deviceOptions.make()
            let path = Checkpoint.resolve(checkpoint)
            let (model, metadata) = try Checkpoint.load(path, device: device)
            let recording = try replay.map { try RecordingReader.read(URL(fileURLWithPath: $0)) }
            guard let sessionID = session ?? recording?.sessionID else {
                throw POYOError.streaming("give --session (one of the checkpoint's sessions)")
            }
            let decoder = try StreamingDecoder(model: model, sessionID: sessionID)
            let settings = try Checkpoint.dataSettings(metadata, path: path)?[sessionID]
            if settings == nil { note("stream: the checkpoint has no normalisation for \(sessionID): raw outputs") }
            let run = try StreamingRun(
                decoder: decoder, every: every, deadline: deadline, mean: settings?.normalizeMean ?? [0],
                std: settings?.normalizeStd ?? [1])
            note("stream: \(sessionID), \(decoder.unitIDs.count) units, an update every \(every) s")
            let out = BufferedOutput()
            let emit: (Double, [Float]) -> Void = { t, v in
                out.write(
                    String(format: "%.6f", t) + v.map { "," + String(format: "%.6g", Double($0)) }.joined() + "\n")
            }
            var last = -Double.infinity
            if let recording {
                last = try replaySpikes(recording, into: run, emit: emit)
            } else if binary {
                last = try readBinary(run, emit: emit)
            } else {
                last = try readText(run, emit: emit)
            }
            if last.isFinite { try run.advance(to: last, output: emit) }
            out.flush()
            let s = run.summary
            var line = "stream: " + s.text
            if let deadline {
                line += String(format: "; %ld of them over the %.3f ms deadline", s.misses, deadline * 1e3)
            }
            note(line)
        }
    }

    /// The recording's spikes in time order, paced by `--speed`; returns the last spike's time.
    func replaySpikes(_ r: Recording, into run: StreamingRun, emit: (Double, [Float]) -> Void) throws -> Double {
        let all = try r.materialized()
        let spikes = (times: all.spikeTimes, units: all.spikeUnit)
        let units = r.unitIDs.map { run.decoder.unit($0) }
        let factor: Double? = Double(speed)
        let wallStart = DispatchTime.now().uptimeNanoseconds
        let first = spikes.times.first ?? 0
        let end = duration.map { first + $0 } ?? .infinity
        var last = -Double.infinity
        for (time, u) in zip(spikes.times, spikes.units) where time < end {
            guard let unit = units[Int(u)] else {
                throw POYOError.streaming(
                    "unit \(r.unitIDs[Int(u)]) of the recording is not in the checkpoint's \(r.sessionID)")
            }
            if let factor {
                let due = wallStart + UInt64(Swift.max(0, (time - first) / factor) * 1e9)
                let now = DispatchTime.now().uptimeNanoseconds
                if due > now { usleep(useconds_t(Swift.min(Double(due - now) / 1e3, 1e6))) }
            }
            try run.feed(unit: unit, time: time, output: emit)
            last = time
        }
        return last
    }

    /// `TIME UNIT` lines; an error names the line.
    func readText(_ run: StreamingRun, emit: (Double, [Float]) -> Void) throws -> Double {
        var last = -Double.infinity
        var number = 0
        while let line = Swift.readLine() {
            number += 1
            let text = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = text.split(whereSeparator: \.isWhitespace)
            if fields.isEmpty { continue }
            guard fields.count == 2, let time = Double(fields[0]) else {
                throw POYOError.streaming("stdin line \(number): expected `TIME UNIT`, found '\(line)'")
            }
            let name = String(fields[1])
            guard let unit = Int(name) ?? run.decoder.unit(name) ?? run.decoder.unit(run.decoder.sessionID + "/" + name)
            else {
                throw POYOError.streaming("stdin line \(number): unit '\(name)' is not one of the session's units")
            }
            do {
                try run.feed(unit: unit, time: time, output: emit)
            } catch POYOError.streaming(let why) {
                throw POYOError.streaming("stdin line \(number): \(why)")
            }
            last = time
        }
        return last
    }

    /// 12-byte records from standard input.
    func readBinary(_ run: StreamingRun, emit: (Double, [Float]) -> Void) throws -> Double {
        var last = -Double.infinity
        var record = [UInt8](repeating: 0, count: 12)
        var index = 0
        while true {
            var got = 0
            while got < 12 {
                let n = record.withUnsafeMutableBytes { read(0, $0.baseAddress! + got, 12 - got) }
                if n <= 0 { break }
                got += n
            }
            if got == 0 { break }
            guard got == 12 else {
                throw POYOError.streaming("stdin: record \(index) is cut short (\(got) of 12 bytes)")
            }
            let time = record.withUnsafeBytes {
                Double(bitPattern: UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)))
            }
            let unit = record.withUnsafeBytes {
                Int(Int32(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: Int32.self)))
            }
            do {
                try run.feed(unit: unit, time: time, output: emit)
            } catch POYOError.streaming(let why) {
                throw POYOError.streaming("stdin record \(index): \(why)")
            }
            last = time
            index += 1
        }
        return last
    }
}

/// Standard output through one buffer, flushed in large writes (a line per update would otherwise
/// cost a system call each).
final class BufferedOutput {
    private var buffer = Data()
    func write(_ s: String) {
        buffer.append(contentsOf: s.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }
    func flush() {
        FileHandle.standardOutput.write(buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}
