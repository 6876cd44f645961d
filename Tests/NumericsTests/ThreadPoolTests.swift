import CKernels
import Testing

/// `mnl_parallel_for`: every chunk runs exactly once per region, for any thread count, also
/// with more threads than cores (so workers are descheduled while regions run).
@Suite(.timeLimit(.minutes(10)))
struct ThreadPoolTests {
    final class Tally {
        var runs: [Int32]
        init(_ count: Int) { runs = [Int32](repeating: 0, count: count) }
    }

    @Test(arguments: [1, 2, 3, 8])
    func everyChunkRunsExactlyOnce(threads: Int) {
        for chunks in [1, 2, 7, 25, 200] {
            let tally = Tally(chunks)
            let regions = 50
            for _ in 0..<regions {
                tally.runs.withUnsafeMutableBufferPointer { runs in
                    var base = runs.baseAddress!
                    withUnsafeMutablePointer(to: &base) { context in
                        mnl_parallel_for(
                            { context, chunk in
                                let runs = context!.assumingMemoryBound(
                                    to: UnsafeMutablePointer<Int32>.self
                                ).pointee
                                runs[Int(chunk)] += 1
                            }, context, Int32(chunks), Int32(threads))
                    }
                }
            }
            #expect(tally.runs.allSatisfy { $0 == Int32(regions) }, "\(chunks) chunks")
        }
    }
}
