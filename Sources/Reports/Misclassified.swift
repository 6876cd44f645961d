/// The test images an evaluation's checkpoint got wrong, as the dashboard's run page shows
/// them under the evaluation's confusion matrix: a grid of the digits themselves (inline PNG
/// data, nothing fetched), each captioned "true → predicted". Or, when the server can't
/// classify the test set again, the reason in one line.
import Foundation

public enum Misclassified: Sendable, Equatable {
    /// Every test image the checkpoint classified wrongly, in test-set order; `testSize` is
    /// how many it classified.
    case images([WrongImage], testSize: Int)
    /// Why the images can't be shown (no test set where the run's was, another data set, no
    /// checkpoint kept…).
    case unavailable(String)

    /// Most images drawn for one evaluation; the rest are counted. A checkpoint of a run
    /// that barely trained gets thousands wrong, which would be a page of megabytes.
    public static let shownLimit = 1_000

    var html: String {
        switch self {
        case .unavailable(let reason):
            return "<p class=\"hint wrong-missing\">Test images it got wrong: \(escape(reason))</p>\n"
        case .images(let wrong, let testSize):
            var out = "<details class=\"misclassified\" open><summary>\(wrong.count) of "
            out += "\(testSize) test images classified wrongly"
            if wrong.count > Self.shownLimit { out += " (the first \(Self.shownLimit) shown)" }
            out += " <span class=\"sub\">true → predicted</span></summary>\n<div class=\"wrong-grid\">"
            for image in wrong.prefix(Self.shownLimit) {
                out += "<figure class=\"wrong\" title=\"test image \(image.index): true "
                out += "\(image.label), predicted \(image.predicted)\"><img alt=\"test image "
                out += "\(image.index)\" width=\"28\" height=\"28\" src=\"data:image/png;base64,"
                out += "\(Data(image.png).base64EncodedString())\"><figcaption>\(image.label)→"
                out += "\(image.predicted)</figcaption></figure>"
            }
            return out + "</div>\n</details>\n"
        }
    }
}

/// One test image a checkpoint got wrong.
public struct WrongImage: Sendable, Equatable {
    /// Its position in the t10k set, from 0.
    public var index: Int
    /// The true label and the one the checkpoint gave.
    public var label: Int
    public var predicted: Int
    /// The 28×28 image as a grayscale PNG.
    public var png: [UInt8]

    public init(index: Int, label: Int, predicted: Int, png: [UInt8]) {
        self.index = index
        self.label = label
        self.predicted = predicted
        self.png = png
    }
}
