/// The test images an evaluation's checkpoint got wrong, for the run page. The store keeps only
/// the evaluation's confusion matrix, so the server classifies the t10k images again with the
/// same checkpoint: from the run's own dataset directory (where `evaluate` reads them), else
/// from the dashboard's data directory (`serve --data`, or where `train` would look). The
/// matrix it gets must be the stored one, or these are not the images that were evaluated.
/// Whatever is missing is said in one line on the page; nothing here fails the request.
import Datasets
import Foundation
import Prediction
import Reports
import Store
import Synchronization
import Training

final class MistakeFinder: Sendable {
    /// Where to look when the run's own directory has no test set.
    let fallback: String?
    private let found = Mutex<[Key: Misclassified]>([:])
    private let testSets = Mutex<[String: TestImages]>([:])
    /// Evaluations remembered at most (each up to `Misclassified.shownLimit` small PNGs).
    private static let remembered = 256

    init(fallback: String?) {
        self.fallback = fallback
    }

    /// An evaluation is the same as long as it was not done again.
    private struct Key: Hashable {
        var runID: Int64
        var epoch: Int
        var evaluatedAt: String?
    }

    /// The test images `evaluation` of `run` got wrong, or why they can't be shown.
    func find(_ evaluation: EvaluationRecord, of run: Run, in store: Store) -> Misclassified {
        let key = Key(runID: run.id, epoch: evaluation.epoch, evaluatedAt: evaluation.evaluatedAt)
        if let known = found.withLock({ $0[key] }) { return known }
        let result: Misclassified
        do {
            result = try classify(evaluation, of: run, in: store)
        } catch {
            // The store failed mid-read (a restart, a file replaced): try again next time.
            return .unavailable("cannot load the checkpoint of epoch \(evaluation.epoch): \(error)")
        }
        found.withLock { found in
            if found.count >= Self.remembered { found.removeAll() }
            found[key] = result
        }
        return result
    }

    private func classify(_ evaluation: EvaluationRecord, of run: Run, in store: Store) throws
        -> Misclassified
    {
        var directories = [run.datasetPath]
        if let fallback, fallback != run.datasetPath { directories.append(fallback) }
        var notes: [String] = []
        for directory in directories {
            let test: TestImages
            do {
                test = try testImages(in: directory)
            } catch {
                notes.append(error.reason)
                continue
            }
            guard test.labels.count == evaluation.testSize else {
                notes.append(
                    "\(directory) has \(test.labels.count) test images, not the \(evaluation.testSize) evaluated")
                continue
            }
            let loaded: LoadedCheckpoint
            do {
                loaded = try store.checkpoint(runID: run.id, at: .epoch(evaluation.epoch))
            } catch let error as TrainingError {
                return .unavailable(error.description)
            }
            let predicted = try loaded.classify(test.images).map(\.label)
            var confusion = [[Int]](repeating: [Int](repeating: 0, count: 10), count: 10)
            var wrong: [WrongImage] = []
            for (index, (label, guess)) in zip(test.labels, predicted).enumerated() {
                confusion[label][guess] += 1
                guard label != guess else { continue }
                let pixels = test.images[index]
                wrong.append(
                    WrongImage(
                        index: index, label: label, predicted: guess,
                        png: GrayImage(width: 28, height: 28, pixels: pixels).png()))
            }
            guard confusion == evaluation.confusion else {
                notes.append(
                    "the test images in \(directory) are not the ones evaluated (the checkpoint's confusion matrix on them differs)")
                continue
            }
            return .images(wrong, testSize: test.labels.count)
        }
        return .unavailable(
            notes.joined(separator: "; ")
                + "; `mnistlab serve --data DIR` names a directory with the run's MNIST files.")
    }

    /// The t10k images (784 bytes each) and labels in `directory`, read once; or what is wrong
    /// with them.
    private func testImages(in directory: String) throws(TestSetProblem) -> TestImages {
        if let known = testSets.withLock({ $0[directory] }) { return known }
        func path(_ kind: String) -> String? {
            let base = (directory as NSString).appendingPathComponent(MNIST.fileName("t10k", kind))
            return [base + ".gz", base].first { FileManager.default.fileExists(atPath: $0) }
        }
        guard let imagesPath = path("images"), let labelsPath = path("labels") else {
            throw TestSetProblem(reason: "no MNIST test set (t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte) in \(directory)")
        }
        let images: IDXArray, labels: IDXArray
        do {
            images = try IDXArray.read(path: imagesPath, rank: 3)
            labels = try IDXArray.read(path: labelsPath, rank: 1)
        } catch {
            throw TestSetProblem(reason: "cannot read the test set in \(directory): \(error)")
        }
        let side = DigitPreparation.side
        guard images.dimensions == [labels.dimensions[0], side, side],
            labels.bytes.allSatisfy({ $0 < MNIST.classCount })
        else {
            throw TestSetProblem(
                reason: "the test set in \(directory) is not \(side)×\(side) digits with labels 0…9")
        }
        let size = side * side
        let test = TestImages(
            images: (0..<labels.bytes.count).map { Array(images.bytes[$0 * size..<($0 + 1) * size]) },
            labels: labels.bytes.map(Int.init))
        testSets.withLock { $0[directory] = test }
        return test
    }
}

/// Why a directory's test set can't be used, as a clause of the page's one line.
struct TestSetProblem: Error {
    var reason: String
}

/// A test set as the run page shows it: each image's 784 bytes, and its label.
struct TestImages: Sendable {
    var images: [[UInt8]]
    var labels: [Int]
}
