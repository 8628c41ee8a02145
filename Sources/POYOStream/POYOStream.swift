import Compute
import Foundation
import POYO

/// The C ABI of `include/poyo_stream.h` over `StreamingDecoder`: each `poyo_stream *` is a retained
/// `StreamHandle`; errors become codes and a message kept on the handle (never a trap).
final class StreamHandle {
    let decoder: StreamingDecoder
    let mean: [Float]
    let std: [Float]
    /// The last failure's message, a C string owned here (freed when replaced and on close).
    private(set) var lastError: UnsafeMutablePointer<CChar> = strdup("")

    init(decoder: StreamingDecoder, mean: [Float], std: [Float]) {
        self.decoder = decoder
        self.mean = mean
        self.std = std
    }

    /// Runs `body`: 0 when it returns, 1 (bad input) for a streaming error, 3 for anything else,
    /// keeping the message for `poyo_stream_last_error`.
    func code(_ body: () throws -> Void) -> Int32 {
        do {
            try body()
            return 0
        } catch POYOError.streaming(let why) {
            return fail(1, why)
        } catch {
            return fail(3, "\(error)")
        }
    }

    func fail(_ code: Int32, _ message: String) -> Int32 {
        free(lastError)
        lastError = strdup(message)
        return code
    }

    deinit { free(lastError) }
}

private func handle(_ p: OpaquePointer?) -> StreamHandle? {
    p.map { Unmanaged<StreamHandle>.fromOpaque(UnsafeRawPointer($0)).takeUnretainedValue() }
}

private func copy(_ message: String, into buffer: UnsafeMutablePointer<CChar>?, length: Int) {
    guard let buffer, length > 0 else { return }
    let bytes = Array(message.utf8.prefix(length - 1))
    for (i, b) in bytes.enumerated() { buffer[i] = CChar(bitPattern: b) }
    buffer[bytes.count] = 0
}

@_cdecl("poyo_stream_open")
public func poyo_stream_open(
    _ checkpoint: UnsafePointer<CChar>?, _ session: UnsafePointer<CChar>?, _ message: UnsafeMutablePointer<CChar>?,
    _ messageLength: Int
) -> OpaquePointer? {
    guard let checkpoint, let session else {
        copy("checkpoint and session must not be NULL", into: message, length: messageLength)
        return nil
    }
    do {
        let path = Checkpoint.resolve(String(cString: checkpoint))
        let id = String(cString: session)
        let (model, metadata) = try Checkpoint.load(path, device: CPUDevice())
        let settings = try Checkpoint.dataSettings(metadata, path: path)?[id]
        let h = StreamHandle(
            decoder: try StreamingDecoder(model: model, sessionID: id), mean: settings?.normalizeMean ?? [0],
            std: settings?.normalizeStd ?? [1])
        return OpaquePointer(Unmanaged.passRetained(h).toOpaque())
    } catch {
        copy("\(error)", into: message, length: messageLength)
        return nil
    }
}

@_cdecl("poyo_stream_close")
public func poyo_stream_close(_ p: OpaquePointer?) {
    guard let p else { return }
    Unmanaged<StreamHandle>.fromOpaque(UnsafeRawPointer(p)).release()
}

@_cdecl("poyo_stream_unit_count")
public func poyo_stream_unit_count(_ p: OpaquePointer?) -> Int32 { Int32(handle(p)?.decoder.unitIDs.count ?? 0) }

@_cdecl("poyo_stream_unit_index")
public func poyo_stream_unit_index(_ p: OpaquePointer?, _ unit: UnsafePointer<CChar>?) -> Int32 {
    guard let h = handle(p), let unit else { return -1 }
    let name = String(cString: unit)
    return Int32(h.decoder.unit(name) ?? h.decoder.unit(h.decoder.sessionID + "/" + name) ?? -1)
}

@_cdecl("poyo_stream_output_count")
public func poyo_stream_output_count(_ p: OpaquePointer?) -> Int32 {
    Int32(handle(p)?.decoder.model.config.dimOut ?? 0)
}

@_cdecl("poyo_stream_push")
public func poyo_stream_push(_ p: OpaquePointer?, _ unit: Int32, _ time: Double) -> Int32 {
    guard let h = handle(p) else { return 1 }
    return h.code { try h.decoder.push(unit: Int(unit), time: time) }
}

@_cdecl("poyo_stream_decode")
public func poyo_stream_decode(
    _ p: OpaquePointer?, _ time: Double, _ out: UnsafeMutablePointer<Float>?, _ outLength: Int32
) -> Int32 {
    guard let h = handle(p) else { return 1 }
    let d = h.decoder.model.config.dimOut
    guard let out, Int(outLength) >= d else {
        return h.fail(1, "the output buffer holds \(outLength) values, not \(d)")
    }
    return h.code {
        let values = UnsafeMutableBufferPointer(start: out, count: d)
        try h.decoder.decode(at: time, into: values)
        StreamingRun.toBehaviour(values, mean: h.mean, std: h.std)
    }
}

@_cdecl("poyo_stream_last_error")
public func poyo_stream_last_error(_ p: OpaquePointer?) -> UnsafePointer<CChar>? {
    guard let h = handle(p) else { return nil }
    return UnsafePointer(h.lastError)
}
