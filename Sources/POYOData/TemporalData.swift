/// The temporaldata object kinds, as stored in each group's `object` attribute (docs/spec.md §1.2).
enum TDKind: String {
    case data = "Data"
    case arrayDict = "ArrayDict"
    case irregular = "IrregularTimeSeries"
    case regular = "RegularTimeSeries"
    case interval = "Interval"
}

/// One group of a brainsets file, described by its attributes.
struct TDObject {
    let path: String
    /// `nil` when the group has no (or an unknown) `object` attribute.
    let kind: TDKind?
    let objectAttribute: String?
    /// Added to the object's times to make them relative to the root's `absolute_start`
    /// (non-zero only inside a nested `Data` sliced differently from the root).
    let timeOffset: Double
    /// Dataset children (columns).
    let columns: [String]
    /// `timekeys` (columns holding times) and `_unicode_keys` (byte columns that were `str`).
    let timekeys: [String]
    let unicodeKeys: [String]
    let samplingRate: Double?
}

/// Every temporaldata object of a file, found by walking groups and dispatching on `object`.
struct TemporalDataCatalog {
    var objects: [String: TDObject] = [:]
    var rootAbsoluteStart = 0.0
    static let maxObjects = 10_000
    static let maxDepth = 6

    init(_ f: HDF5File) throws {
        if f.hasAttribute("object", at: "/") {
            let o = try f.attributeString("object", at: "/")
            guard o == TDKind.data.rawValue else {
                throw DataError.invalid(
                    file: f.path, field: "@object", reason: "the root is a \"\(o)\", expected \"Data\"")
            }
        }
        if f.hasAttribute("absolute_start", at: "/") {
            rootAbsoluteStart = try f.attributeDouble("absolute_start", at: "/")
            guard rootAbsoluteStart.isFinite else {
                throw DataError.invalid(file: f.path, field: "@absolute_start", reason: "is \(rootAbsoluteStart)")
            }
        }
        try visit(f, "", depth: 0, absoluteStart: rootAbsoluteStart)
    }

    private mutating func visit(_ f: HDF5File, _ path: String, depth: Int, absoluteStart: Double) throws {
        guard depth < TemporalDataCatalog.maxDepth else { return }
        for name in try f.children(of: path.isEmpty ? "/" : path) {
            let p = path.isEmpty ? name : "\(path)/\(name)"
            guard f.isGroup(p) else { continue }
            guard objects.count < TemporalDataCatalog.maxObjects else {
                throw DataError.invalid(
                    file: f.path, field: p, reason: "more than \(TemporalDataCatalog.maxObjects) groups")
            }
            let attr = f.hasAttribute("object", at: p) ? try f.attributeString("object", at: p) : nil
            let kind = attr.flatMap(TDKind.init(rawValue:))
            var start = absoluteStart
            if kind == .data, f.hasAttribute("absolute_start", at: p) {
                start = try f.attributeDouble("absolute_start", at: p)
                guard start.isFinite else {
                    throw DataError.invalid(file: f.path, field: "\(p)/@absolute_start", reason: "is \(start)")
                }
            }
            let columns = try f.children(of: p).filter { f.isDataset("\(p)/\($0)") }
            let timekeys = f.hasAttribute("timekeys", at: p) ? try f.attributeStrings("timekeys", at: p) : []
            let unicode = f.hasAttribute("_unicode_keys", at: p) ? try f.attributeStrings("_unicode_keys", at: p) : []
            let rate =
                kind == .regular && f.hasAttribute("sampling_rate", at: p)
                ? try f.attributeDouble("sampling_rate", at: p) : nil
            objects[p] = TDObject(
                path: p, kind: kind, objectAttribute: attr, timeOffset: start - rootAbsoluteStart,
                columns: columns, timekeys: timekeys, unicodeKeys: unicode, samplingRate: rate)
            if kind == .data || (kind == nil && depth == 0) {
                try visit(f, p, depth: depth + 1, absoluteStart: start)
            }
        }
    }

    subscript(_ path: String) -> TDObject? { objects[path] }

    /// Time offset of an object at `path` (that of its nearest enclosing `Data`).
    func offset(of path: String) -> Double { objects[path]?.timeOffset ?? 0 }

    /// Objects of a kind, sorted by path.
    func all(_ kind: TDKind) -> [TDObject] {
        objects.values.filter { $0.kind == kind }.sorted { $0.path < $1.path }
    }
}
