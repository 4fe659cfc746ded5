import Cases

/// Several executors on one kernel (one per guest vCPU): each batch is split between them, so
/// they run their halves at once. A finding's replays go to the first.
package final class ShardedReference: FuzzReference {
    let shards: [RemoteReference]
    private var pending: [Int: [(shard: Int, ticket: Int)]] = [:]
    private var next = 0

    package init(_ shards: [RemoteReference]) { self.shards = shards }

    package var label: String { shards.first?.label ?? "kernel" }

    package func submit(_ scripts: [ReferenceScript], vocabulary: Vocabulary) throws -> Int {
        let chunk = max(1, (scripts.count + shards.count - 1) / shards.count)
        var parts: [(shard: Int, ticket: Int)] = []
        for (i, shard) in shards.enumerated() where i * chunk < scripts.count {
            let part = Array(scripts[(i * chunk)..<min((i + 1) * chunk, scripts.count)])
            parts.append((i, try shard.submit(part, vocabulary: vocabulary)))
        }
        next += 1
        pending[next] = parts
        return next
    }

    package func collect(_ ticket: Int) throws -> [ReferenceReport] {
        try (pending.removeValue(forKey: ticket) ?? []).flatMap { try shards[$0.shard].collect($0.ticket) }
    }

    package func finish(_ vocabulary: Vocabulary) { for s in shards { s.finish(vocabulary) } }
}
