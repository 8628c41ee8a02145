import Foundation
import POYOData

/// What a session of a checkpoint learned from: its whole training split, or a few-shot subset
/// of its training trials (drawn with `RunSeeds(root: seed).fewShot`, as `TrainingSession` does).
/// A baseline compared with the checkpoint must learn from the same.
public enum TrainingSubset: Sendable, Equatable {
    case whole
    case fewShot(FewShot, seed: UInt64)
    /// Not recoverable; the reason says why.
    case unknown(String)
}

extension Checkpoint {
    /// Session id → what it was trained on, for every session of the checkpoint (or run folder) at
    /// `path`. Read from the run config the checkpoint carries (`train` metadata, else the
    /// `config.yaml` beside it). A fine-tuned checkpoint's pretrained sessions were trained by the
    /// run that wrote its pretrained checkpoint, which is read in turn.
    public static func trainingSubsets(of path: String, depth: Int = 0) throws -> [String: TrainingSubset] {
        let file = resolve(path)
        let meta = try SafeTensorsFile.metadata(atPath: file)
        let sessions = try sessionWords(meta, path: file)
        let beside = URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent("config.yaml")
        guard let yaml = meta["train"] ?? (try? String(contentsOf: beside, encoding: .utf8)) else {
            let why = "\(file) carries no run config ('train' metadata, or a config.yaml beside it)"
            return Dictionary(uniqueKeysWithValues: sessions.map { ($0, .unknown(why)) })
        }
        let cfg = try ConfigFile.parse(yaml: yaml, path: file + " (its run config)")
        let own: TrainingSubset = cfg.train.fewShot.map { .fewShot($0, seed: cfg.train.seed) } ?? .whole
        guard let finetune = cfg.finetune else {
            return Dictionary(uniqueKeysWithValues: sessions.map { ($0, own) })
        }
        guard let rows = finetune.pretrainedSessions, depth < 16 else {
            let why = "\(file)'s run config does not say which of its sessions were pretrained"
            return Dictionary(uniqueKeysWithValues: sessions.map { ($0, .unknown(why)) })
        }
        // Rows below `pretrainedSessions` (the padding row included) are the pretrained checkpoint's.
        let pretrainedCount = max(rows - 1, 0)
        var out: [String: TrainingSubset] = [:]
        for s in sessions.dropFirst(pretrainedCount) { out[s] = own }
        let pretrained = sessions.prefix(pretrainedCount)
        guard !pretrained.isEmpty else { return out }
        let earlier: [String: TrainingSubset]
        do {
            earlier = try trainingSubsets(of: finetune.checkpoint, depth: depth + 1)
        } catch {
            let why = "its pretrained checkpoint \(finetune.checkpoint) cannot be read (\(error))"
            for s in pretrained { out[s] = .unknown(why) }
            return out
        }
        for s in pretrained { out[s] = earlier[s] ?? .unknown("\(finetune.checkpoint) does not know \(s)") }
        return out
    }

    /// The session vocabulary's words, padding left out.
    static func sessionWords(_ meta: [String: String], path: String) throws -> [String] {
        guard let json = meta["session_vocab"],
            let words = try? JSONDecoder().decode([String].self, from: Data(json.utf8)),
            words.first == Vocabulary.padding
        else {
            throw POYOError.checkpoint(path: path, reason: "metadata lacks a readable 'session_vocab'")
        }
        return Array(words.dropFirst())
    }
}
