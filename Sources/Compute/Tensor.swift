/// Element type of a tensor. Model activations and parameters are Float32; indices are Int32.
public enum DType: Sendable {
    case float32
    case int32

    public var byteSize: Int { 4 }
}

/// A handle to a dense, row-major buffer owned by a `Device`.
///
/// Model code never touches tensor memory: it passes tensors to `Device` ops and only reads back
/// through `Device.download`. The storage object is the backend's own (host memory for the CPU
/// backend, a `cl_mem` for OpenCL).
public final class Tensor: @unchecked Sendable {
    public let shape: [Int]
    public let dtype: DType
    /// Number of elements.
    public let count: Int
    /// Backend-specific storage; only the owning device interprets it.
    public let storage: AnyObject
    /// Identifies the device that owns the storage.
    public let deviceID: ObjectIdentifier

    public init(shape: [Int], dtype: DType, storage: AnyObject, deviceID: ObjectIdentifier) {
        self.shape = shape
        self.dtype = dtype
        self.count = shape.reduce(1, *)
        self.storage = storage
        self.deviceID = deviceID
    }

    public var rows: Int { shape.count >= 2 ? shape.dropLast().reduce(1, *) : 1 }
    public var columns: Int { shape.last ?? 1 }

    /// The whole tensor as a row-major matrix `[rows, columns]`.
    public var matrix: MatrixView { MatrixView(self, offset: 0, ld: columns) }

    /// A column block `[rows, width]` starting at column `from` (e.g. the k half of a kv projection).
    public func columns(_ from: Int, _ width: Int) -> MatrixView {
        MatrixView(self, offset: from, ld: columns, width: width)
    }
}

/// A strided view of a tensor as a row-major matrix: element (r, c) lives at `offset + r*ld + c`.
/// Used where ops read or write a column block of a wider buffer without copying it.
public struct MatrixView: Sendable {
    public let tensor: Tensor
    public let offset: Int
    public let ld: Int
    /// Columns covered by the view (≤ ld).
    public let width: Int

    public init(_ tensor: Tensor, offset: Int, ld: Int, width: Int? = nil) {
        self.tensor = tensor
        self.offset = offset
        self.ld = ld
        self.width = width ?? ld
    }

    public var rows: Int { tensor.count / ld }
}
