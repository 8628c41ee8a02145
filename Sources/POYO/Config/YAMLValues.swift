import Foundation
import Yams

/// YAML text as plain values (`[String: Any]`, `[Any]`, `String`, `Int`, `Double`, `Bool`, `NSNull`),
/// the form the config parsers read. Yams composes the node tree; the conversion to values is ours,
/// because Yams's own (`Yams.load`) traps on a mapping key that is not text (`? [a]: 1`, found by the
/// config fuzzer). Here such a key, or nesting deeper than `maxDepth`, is an error.
enum YAMLValues {
    /// Far deeper than any config; guards the recursion below.
    static let maxDepth = 64

    struct Invalid: Error, CustomStringConvertible {
        let description: String
    }

    /// The document's value; nil for an empty document.
    static func load(_ text: String) throws -> Any? {
        guard let node = try Yams.compose(yaml: text) else { return nil }
        return try value(node, depth: 0)
    }

    static func value(_ node: Node, depth: Int) throws -> Any {
        guard depth < maxDepth else { throw Invalid(description: "nested more than \(maxDepth) levels deep") }
        switch node {
        case .scalar(let scalar):
            switch Tag.Name(rawValue: node.tag.description) {
            case .null: return NSNull()
            case .bool: return node.bool ?? scalar.string
            case .int: return node.int ?? scalar.string  // too large for Int: the parsers see text
            case .float: return node.float ?? scalar.string
            default: return scalar.string
            }
        case .sequence(let sequence):
            return try sequence.map { try value($0, depth: depth + 1) }
        case .mapping(let mapping):
            var out: [String: Any] = [:]
            for (key, item) in mapping {
                guard case .scalar(let name) = key else {
                    let line = key.mark.map { " (line \($0.line))" } ?? ""
                    throw Invalid(description: "a mapping key must be plain text, found a \(kind(key))\(line)")
                }
                out[name.string] = try value(item, depth: depth + 1)
            }
            return out
        }
    }

    static func kind(_ node: Node) -> String {
        switch node {
        case .scalar: return "scalar"
        case .sequence: return "list"
        case .mapping: return "mapping"
        }
    }
}
