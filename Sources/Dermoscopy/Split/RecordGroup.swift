/// The records that must stay together, with the label the group is stratified under.
struct RecordGroup {
    /// Record indices, in dataset order.
    var members: [Int]
    /// The most common label of the members, ties going to the one seen first. Lesions rarely mix labels,
    /// but a group can only sit in one stratum.
    let label: String

    /// Groups in order of first appearance.
    static func gather(_ records: [DatasetRecord], by key: GroupKey) -> [RecordGroup] {
        var position: [String: Int] = [:]
        var members: [[Int]] = []
        for (index, record) in records.enumerated() {
            let group = key.group(of: record)
            if let existing = position[group] {
                members[existing].append(index)
            } else {
                position[group] = members.count
                members.append([index])
            }
        }
        return members.map { indices in
            var counts: [String: Int] = [:]
            for i in indices { counts[records[i].label, default: 0] += 1 }
            let top = counts.values.max()!
            return RecordGroup(members: indices, label: indices.lazy.map { records[$0].label }.first { counts[$0] == top }!)
        }
    }

    /// Groups by label (sorted), or all in one stratum.
    static func strata(_ groups: [RecordGroup], stratified: Bool) -> [(label: String, groups: [RecordGroup])] {
        guard stratified else { return [("", groups)] }
        return Dictionary(grouping: groups, by: \.label).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}
