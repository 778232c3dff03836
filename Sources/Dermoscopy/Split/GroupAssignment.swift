import NeuralNet

/// Greedy assignment of one stratum's groups to bins (splits or folds) so each bin's image count approaches
/// its share.
enum GroupAssignment {
    /// The bin of each group (aligned with `groups`). Groups are shuffled with `generator`, then taken largest
    /// first (so big lesions cannot overshoot a small split late), each into the bin furthest below its
    /// target; ties go to the bin with the fewest images overall (`load`, updated), then the earlier bin.
    /// Bins with share 0 get nothing. When there are at least as many groups as bins with a share, every such
    /// bin ends up with a group — a rare class still reaches val and test.
    static func assign(_ groups: [RecordGroup], shares: [Double], load: inout [Int],
                       using generator: inout SeededGenerator) -> [Int] {
        var order = Array(groups.indices)
        SeededDraws.shuffle(&order, using: &generator)
        order = order.enumerated()
            .sorted { (groups[$1.element].members.count, $0.offset) < (groups[$0.element].members.count, $1.offset) }
            .map(\.element)
        let total = Double(groups.reduce(0) { $0 + $1.members.count })
        let active = shares.indices.filter { shares[$0] > 0 }
        var filled = [Int](repeating: 0, count: shares.count)
        var contents = [[Int]](repeating: [], count: shares.count)
        for group in order {
            let bin = active.max { a, b in
                let (da, db) = (shares[a] * total - Double(filled[a]), shares[b] * total - Double(filled[b]))
                return da != db ? da < db : (load[a], a) > (load[b], b)
            }!
            filled[bin] += groups[group].members.count
            load[bin] += groups[group].members.count
            contents[bin].append(group)
        }
        if groups.count >= active.count {
            for bin in active where contents[bin].isEmpty {
                // Pigeonhole: some other bin holds two or more groups; give up its smallest (last taken).
                let donor = active.filter { contents[$0].count > 1 }.max { contents[$0].count < contents[$1].count }!
                let moved = contents[donor].removeLast()
                load[donor] -= groups[moved].members.count
                load[bin] += groups[moved].members.count
                contents[bin].append(moved)
            }
        }
        var binOf = [Int](repeating: 0, count: groups.count)
        for (bin, members) in contents.enumerated() { for group in members { binOf[group] = bin } }
        return binOf
    }
}
