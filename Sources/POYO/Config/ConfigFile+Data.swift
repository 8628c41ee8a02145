import Foundation
import POYOData

extension ConfigFile {
    /// The recordings this config trains on: its `dataset:` list, else its `data_root` folder.
    /// `knownSettings`: a checkpoint's data settings by session id, used for what the config leaves open.
    public func loadData(knownSettings: [String: RecordingSettings]? = nil) throws -> (
        dataset: Dataset, description: String
    ) {
        var options = ReaderOptions()
        // Fine-tuning reads any session the pretrained model knows as it was pretrained on.
        options.knownSettings = try knownSettings ?? finetune.flatMap { try Checkpoint.dataSettings(of: $0.checkpoint) }
        if let dataset {
            return (try dataset.load(options: options), dataset.recordings.map(\.path).joined(separator: ", "))
        }
        if let dataRoot {
            return (try Dataset.load(directory: URL(fileURLWithPath: dataRoot), options: options), dataRoot)
        }
        throw POYOError.invalidConfig("no data: the config has neither 'dataset' nor 'data_root'")
    }

    /// The recordings to score `checkpoint` on, each session it knows read with the settings it
    /// carries for it (`settings`, its `data_settings`), unless `configWins` (the user gave a
    /// config whose settings replace them). A known session without carried settings is an error.
    public func loadData(
        scoring checkpoint: String, settings: [String: RecordingSettings]?, sessionVocab: Vocabulary,
        configWins: Bool, note: (String) -> Void
    ) throws -> (dataset: Dataset, description: String) {
        if configWins { return try loadData() }
        guard let settings else {
            note("\(checkpoint) carries no data settings (written before they were stored); settings inferred")
            return try loadData()
        }
        let (dataset, description) = try loadData(knownSettings: settings)
        for r in dataset.recordings where sessionVocab.row(of: r.sessionID) != nil && settings[r.sessionID] == nil {
            throw POYOError.checkpoint(
                path: checkpoint, reason: "carries no data settings for session \(r.sessionID); give them with --config"
            )
        }
        return (dataset, description)
    }
}
