import Foundation

/// Everything that can go wrong while reading, writing or preparing recordings.
///
/// Each case names the file (as the caller gave it) and the HDF5 path or field at fault, so the
/// one-line `description` tells a user exactly what to fix.
public enum DataError: Error, CustomStringConvertible, Equatable, Sendable, Codable {
    /// Nothing exists at `path`.
    case fileNotFound(String)
    /// The file exists but has no HDF5 signature.
    case notHDF5(String)
    /// A group, dataset or attribute the layout requires is absent, e.g. `spikes/timestamps`.
    case missing(file: String, field: String)
    /// A field exists but its content is unusable (wrong type/shape, unsorted, out of range...).
    case invalid(file: String, field: String, reason: String)
    /// An HDF5 library call failed on `path` inside `file`.
    case hdf5(file: String, call: String, path: String)
    /// A directory holds no `.h5` recordings.
    case noRecordings(directory: String)
    /// A file-system operation (listing, creating a directory) failed.
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "\(path): no such file"
        case .notHDF5(let path):
            return "\(path): not an HDF5 file"
        case .missing(let file, let field):
            return "\(file): missing '\(field)'"
        case .invalid(let file, let field, let reason):
            return "\(file): invalid '\(field)': \(reason)"
        case .hdf5(let file, let call, let path):
            return "\(file): HDF5 call \(call) failed on '\(path)' (corrupt file?)"
        case .noRecordings(let directory):
            return "\(directory): no .h5 or .nwb recordings found"
        case .io(let path, let reason):
            return "\(path): \(reason)"
        }
    }

    /// Why `path` cannot be reached, asked of the system again: `.fileNotFound` when nothing is
    /// there, else what stops it (a symbolic link loop or a dangling link, a permission).
    public static func unreachable(_ path: String) -> DataError {
        var st = stat()
        guard stat(path, &st) != 0 else { return .io(path: path, reason: "cannot be read") }
        let code = errno
        switch code {
        case ELOOP:
            return .io(path: path, reason: "a symbolic link loop (too many levels of symbolic links)")
        case ENOENT where lstat(path, &st) == 0:
            return .io(path: path, reason: "a symbolic link to a missing file")
        case ENOENT, ENOTDIR:
            return .fileNotFound(path)
        default:
            return .io(path: path, reason: String(cString: strerror(code)))
        }
    }

    /// The HDF5 path or field at fault, when there is one.
    public var field: String? {
        switch self {
        case .missing(_, let f), .invalid(_, let f, _): return f
        case .hdf5(_, _, let p): return p
        default: return nil
        }
    }
}

/// A problem the reader repaired or worked around; the data loads, and the warning says how.
public struct DataWarning: Error, CustomStringConvertible, Equatable, Sendable, Codable {
    public var file: String
    public var field: String
    public var message: String

    public init(file: String, field: String, message: String) {
        self.file = file
        self.field = field
        self.message = message
    }

    public var description: String { "\(file): warning: '\(field)': \(message)" }
}
