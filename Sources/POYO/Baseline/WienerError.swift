/// Why a Wiener baseline could not be fitted or compared; each names what is wrong.
public enum WienerError: Error, CustomStringConvertible, Equatable {
    case noTrainingSamples(String)
    case noSelectionSamples(String)
    case notSolvable(String)
    case unknownTrainingData(String)
    case invalidOption(String)

    public var description: String {
        switch self {
        case .noTrainingSamples(let s): return "Wiener filter: \(s)"
        case .noSelectionSamples(let s): return "Wiener filter: \(s)"
        case .notSolvable(let s): return "Wiener filter: \(s)"
        case .unknownTrainingData(let s): return "Wiener baseline: \(s)"
        case .invalidOption(let s): return "Wiener baseline: \(s)"
        }
    }

    /// The same error, naming the session it is about.
    func naming(_ session: String) -> WienerError {
        switch self {
        case .noTrainingSamples(let m): return .noTrainingSamples("\(session): \(m)")
        case .noSelectionSamples(let m): return .noSelectionSamples("\(session): \(m)")
        case .notSolvable(let m): return .notSolvable("\(session): \(m)")
        case .unknownTrainingData, .invalidOption: return self
        }
    }
}
