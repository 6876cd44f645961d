/// The network as an ONNX model (IR version 7, opset 13: read by ONNX Runtime, OpenCV's dnn,
/// onnxruntime-web and Netron), written and read back without a protobuf library.
///
/// The graph is what the trainer computes: for each layer `Gemm(x, layers.L.weight,
/// layers.L.bias)` (weight (fan_in, fan_out), so no transpose), then the run's activation on
/// hidden layers (Sigmoid, Relu, LeakyRelu with alpha 0.01) and Softmax on the last, whatever
/// the loss (MSE is also measured on the softmax output). Input `image` [N, 784] float32
/// pixels / 255, or with `uint8Input` uint8 0–255 followed by Cast and Div by 255 in the
/// graph; output `probabilities` [N, 10]. Field numbers are onnx.proto3's.
import Numerics

/// onnx.proto's field numbers and enum values, by message.
private enum Field {
    enum Model {
        static let irVersion = 1, producerName = 2, producerVersion = 3, domain = 4
        static let modelVersion = 5, docString = 6, graph = 7, opsetImport = 8, metadata = 14
    }
    enum Graph {
        static let node = 1, name = 2, initializer = 5, docString = 10, input = 11, output = 12
    }
    enum Node { static let input = 1, output = 2, name = 3, opType = 4, attribute = 5 }
    enum Attribute { static let name = 1, f = 2, i = 3, type = 20 }
    enum Tensor { static let dims = 1, dataType = 2, name = 8, rawData = 9 }
    enum ValueInfo { static let name = 1, type = 2, docString = 3 }
    enum TypeProto {
        static let tensorType = 1, elemType = 1, shape = 2, dim = 1, dimValue = 1, dimParam = 2
    }
    enum Entry { static let key = 1, value = 2 }
    enum OperatorSet { static let version = 2 }
}

private enum DataType { static let float: Int64 = 1, uint8: Int64 = 2 }
private enum AttributeType { static let float: Int64 = 1, int: Int64 = 2 }

extension ExportableModel {
    static let irVersion: Int64 = 7
    static let opset: Int64 = 13
    static let producer = "mnistlab"
    static let pixelScale: Float = 255

    /// The model as ONNX bytes. The same model gives the same bytes.
    public func onnx(uint8Input: Bool = false) -> [UInt8] {
        var model = ProtobufWriter()
        model.int(Field.Model.irVersion, Self.irVersion)
        model.string(Field.Model.producerName, Self.producer)
        model.string(Field.Model.producerVersion, metadata[MetadataKey.version] ?? "")
        model.string(Field.Model.domain, "mnistlab")
        model.int(Field.Model.modelVersion, Int64(epoch ?? 0))
        model.string(Field.Model.docString, docString(uint8Input: uint8Input))
        model.message(Field.Model.graph) { graph(&$0, uint8Input: uint8Input) }
        model.message(Field.Model.opsetImport) { $0.int(Field.OperatorSet.version, Self.opset) }
        var entries = metadata
        entries[MetadataKey.inputScaling] = Self.inputScaling(uint8Input: uint8Input)
        for (key, value) in entries.sorted(by: { $0.key < $1.key }) {
            model.message(Field.Model.metadata) {
                $0.string(Field.Entry.key, key)
                $0.string(Field.Entry.value, value)
            }
        }
        return model.bytes
    }

    private func docString(uint8Input: Bool) -> String {
        let a = architecture
        let run = runID.map { "run \($0)" } ?? "a run"
        return """
            MNISTLab MLP \(a.layerSizes.map(String.init).joined(separator: "-")) \
            (\(a.activation.rawValue) hidden layers, softmax output, trained with \
            \(a.loss.rawValue)), \(run) at epoch \(epoch ?? 0). Input 'image' [N, \(a.inputs)]: \
            28x28 images row-major, white ink on black as in MNIST, \
            \(Self.inputScaling(uint8Input: uint8Input)). Output 'probabilities' \
            [N, \(a.outputs)]: softmax probabilities of the digits 0-9.
            """
    }

    private func graph(_ g: inout ProtobufWriter, uint8Input: Bool) {
        let a = architecture
        g.string(Field.Graph.name, "mnistlab_mlp")
        var current = "image"
        if uint8Input {
            node(&g, "Cast", [current], "pixels", attribute: ("to", .int(DataType.float)))
            node(&g, "Div", ["pixels", "pixel_scale"], "scaled")
            tensor(&g, "pixel_scale", dims: [], [Self.pixelScale])
            current = "scaled"
        }
        for l in 0..<a.layerCount {
            let layout = a.layout(ofLayer: l)
            let weight = Self.tensorName(layer: l, "weight")
            let bias = Self.tensorName(layer: l, "bias")
            tensor(
                &g, weight, dims: [layout.fanIn, layout.fanOut],
                weights[layout.weightOffset..<layout.biasOffset])
            tensor(
                &g, bias, dims: [layout.fanOut],
                weights[layout.biasOffset..<layout.biasOffset + layout.fanOut])
            let linear = l == a.layerCount - 1 ? "logits" : "layers.\(l).linear"
            node(&g, "Gemm", [current, weight, bias], linear)
            if l == a.layerCount - 1 {
                node(&g, "Softmax", [linear], "probabilities", attribute: ("axis", .int(1)))
            } else {
                current = "layers.\(l).output"
                switch a.activation {
                case .sigmoid: node(&g, "Sigmoid", [linear], current)
                case .relu: node(&g, "Relu", [linear], current)
                case .leakyRelu:
                    node(
                        &g, "LeakyRelu", [linear], current,
                        attribute: ("alpha", .float(Activation.leakySlope)))
                }
            }
        }
        valueInfo(
            &g, Field.Graph.input, "image", uint8Input ? DataType.uint8 : DataType.float,
            width: a.inputs, doc: Self.inputScaling(uint8Input: uint8Input))
        valueInfo(
            &g, Field.Graph.output, "probabilities", DataType.float, width: a.outputs,
            doc: "softmax probabilities of the digits")
    }

    private enum AttributeValue {
        case int(Int64)
        case float(Float)
    }

    private func node(
        _ g: inout ProtobufWriter, _ op: String, _ inputs: [String], _ output: String,
        attribute: (String, AttributeValue)? = nil
    ) {
        g.message(Field.Graph.node) { n in
            for input in inputs { n.string(Field.Node.input, input) }
            n.string(Field.Node.output, output)
            n.string(Field.Node.name, output == "probabilities" ? "softmax" : output)
            n.string(Field.Node.opType, op)
            if let (name, value) = attribute {
                n.message(Field.Node.attribute) { at in
                    at.string(Field.Attribute.name, name)
                    switch value {
                    case .int(let v):
                        at.int(Field.Attribute.i, v)
                        at.int(Field.Attribute.type, AttributeType.int)
                    case .float(let v):
                        at.float(Field.Attribute.f, v)
                        at.int(Field.Attribute.type, AttributeType.float)
                    }
                }
            }
        }
    }

    /// A float32 initializer; its raw_data is the values' little-endian bytes, so the
    /// weights are the checkpoint's bytes.
    private func tensor(
        _ g: inout ProtobufWriter, _ name: String, dims: [Int], _ values: some Collection<Float>
    ) {
        g.message(Field.Graph.initializer) { t in
            for d in dims { t.int(Field.Tensor.dims, Int64(d)) }
            t.int(Field.Tensor.dataType, DataType.float)
            t.string(Field.Tensor.name, name)
            t.bytes(Field.Tensor.rawData, littleEndianBytes(values))
        }
    }

    private func valueInfo(
        _ g: inout ProtobufWriter, _ field: Int, _ name: String, _ type: Int64, width: Int,
        doc: String
    ) {
        g.message(field) { v in
            v.string(Field.ValueInfo.name, name)
            v.message(Field.ValueInfo.type) { t in
                t.message(Field.TypeProto.tensorType) { tensor in
                    tensor.int(Field.TypeProto.elemType, type)
                    tensor.message(Field.TypeProto.shape) { shape in
                        shape.message(Field.TypeProto.dim) {
                            $0.string(Field.TypeProto.dimParam, "N")
                        }
                        shape.message(Field.TypeProto.dim) {
                            $0.int(Field.TypeProto.dimValue, Int64(width))
                        }
                    }
                }
            }
            v.string(Field.ValueInfo.docString, doc)
        }
    }
}

func littleEndianBytes(_ values: some Collection<Float>) -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(values.count * 4)
    for v in values {
        let bits = v.bitPattern
        for shift in stride(from: 0, to: 32, by: 8) {
            bytes.append(UInt8(truncatingIfNeeded: bits >> shift))
        }
    }
    return bytes
}

// MARK: - Reading

/// Why a file cannot be read back as a model this module wrote.
public enum ModelFileError: Error, Equatable, CustomStringConvertible {
    /// Not a protocol-buffers message, or not an ONNX model.
    case notONNX
    /// An ONNX model by another producer.
    case otherProducer(String)
    /// Made by mnistlab but not in the form it writes (edited, or from a newer version).
    case unexpectedGraph(String)

    public var description: String {
        switch self {
        case .notONNX: "it is not an ONNX model"
        case .otherProducer(let name):
            "it is an ONNX model made by "
                + "\(name.isEmpty ? "an unnamed producer" : "'\(name)'"), not by mnistlab"
        case .unexpectedGraph(let reason): "its graph is not one mnistlab writes: \(reason)"
        }
    }
}

extension ExportableModel {
    /// The model in an ONNX file written by `onnx(uint8Input:)`, with either input. Any other
    /// ONNX graph is refused, naming the first thing that differs.
    public init(onnx bytes: [UInt8]) throws(ModelFileError) {
        let model: [ProtobufField]
        do { model = try protobufFields(bytes[...]) } catch { throw .notONNX }
        guard let ir = model.first(where: { $0.number == Field.Model.irVersion })?.integer, ir > 0,
            let graphBytes = model.first(where: { $0.number == Field.Model.graph })?.data
        else { throw .notONNX }
        let producer = model.first { $0.number == Field.Model.producerName }?.string ?? ""
        guard producer == Self.producer else { throw .otherProducer(producer) }
        var metadata: [String: String] = [:]
        for entry in model where entry.number == Field.Model.metadata {
            let fields = try Self.fields(entry.data, "metadata")
            if let key = fields.first(where: { $0.number == Field.Entry.key })?.string {
                metadata[key] = fields.first { $0.number == Field.Entry.value }?.string ?? ""
            }
        }
        metadata[MetadataKey.inputScaling] = nil
        let graph = try Self.fields(graphBytes, "graph")
        var reader = try GraphReader(graph)
        // The loss is not in the graph; nor is the activation of a network without hidden layers.
        let (architecture, weights) = try reader.network(
            loss: Loss(rawValue: metadata[MetadataKey.loss] ?? "") ?? .crossEntropy,
            activation: Activation(rawValue: metadata[MetadataKey.activation] ?? "") ?? .sigmoid)
        self.init(architecture: architecture, weights: weights, metadata: metadata)
    }

    fileprivate static func fields(_ data: ArraySlice<UInt8>?, _ what: String)
        throws(ModelFileError)
        -> [ProtobufField]
    {
        guard let data else { throw .unexpectedGraph("a \(what) field is not a message") }
        do { return try protobufFields(data) } catch {
            throw .unexpectedGraph("its \(what) is not a valid message")
        }
    }
}

/// Walks the nodes of a graph `onnx(uint8Input:)` wrote, in order, checking each against
/// what that function writes.
private struct GraphReader {
    struct Node {
        var op: String
        var inputs: [String]
        var outputs: [String]
        var attributes: [String: ProtobufField]
    }

    struct Initializer {
        var dims: [Int]
        var values: [Float]
    }

    var nodes: [Node] = []
    var next = 0
    var initializers: [String: Initializer] = [:]
    var inputType: Int64 = 0
    var outputs: [String] = []

    init(_ graph: [ProtobufField]) throws(ModelFileError) {
        for field in graph {
            switch field.number {
            case Field.Graph.node:
                let f = try ExportableModel.fields(field.data, "node")
                var attributes: [String: ProtobufField] = [:]
                for a in f where a.number == Field.Node.attribute {
                    let af = try ExportableModel.fields(a.data, "attribute")
                    guard let name = af.first(where: { $0.number == Field.Attribute.name })?.string,
                        let value = af.first(where: {
                            [Field.Attribute.f, Field.Attribute.i].contains($0.number)
                        })
                    else { throw .unexpectedGraph("an attribute that is not a number") }
                    attributes[name] = value
                }
                nodes.append(
                    Node(
                        op: f.first { $0.number == Field.Node.opType }?.string ?? "",
                        inputs: f.filter { $0.number == Field.Node.input }.compactMap(\.string),
                        outputs: f.filter { $0.number == Field.Node.output }.compactMap(\.string),
                        attributes: attributes))
            case Field.Graph.initializer:
                let f = try ExportableModel.fields(field.data, "initializer")
                guard let name = f.first(where: { $0.number == Field.Tensor.name })?.string,
                    f.first(where: { $0.number == Field.Tensor.dataType })?.integer
                        == DataType.float,
                    let raw = f.first(where: { $0.number == Field.Tensor.rawData })?.data,
                    raw.count % 4 == 0
                else { throw .unexpectedGraph("an initializer that is not float32 raw data") }
                let dims = f.filter { $0.number == Field.Tensor.dims }.compactMap(\.integer)
                // At most two dimensions of at most 2^24, so their product cannot overflow.
                guard dims.count <= 2, dims.allSatisfy({ $0 > 0 && $0 <= 1 << 24 }),
                    dims.reduce(1, { $0 * Int($1) }) == raw.count / 4
                else { throw .unexpectedGraph("initializer \(name)'s shape does not fit its data") }
                let values = stride(from: raw.startIndex, to: raw.endIndex, by: 4).map { i in
                    Float(bitPattern: raw[i..<i + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) })
                }
                initializers[name] = Initializer(dims: dims.map { Int($0) }, values: values)
            case Field.Graph.input:
                let f = try ExportableModel.fields(field.data, "input")
                guard f.first(where: { $0.number == Field.ValueInfo.name })?.string == "image"
                else {
                    throw .unexpectedGraph("an input other than 'image'")
                }
                let type = try ExportableModel.fields(
                    f.first { $0.number == Field.ValueInfo.type }?.data, "input type")
                let tensor = try ExportableModel.fields(
                    type.first { $0.number == Field.TypeProto.tensorType }?.data, "input type")
                inputType = tensor.first { $0.number == Field.TypeProto.elemType }?.integer ?? 0
            case Field.Graph.output:
                let f = try ExportableModel.fields(field.data, "output")
                outputs.append(f.first { $0.number == Field.ValueInfo.name }?.string ?? "")
            default: continue
            }
        }
        guard outputs == ["probabilities"] else {
            throw .unexpectedGraph("its outputs are not ['probabilities']")
        }
    }

    /// The next node, checked to be `op` on `inputs` with no attributes but `attributes`.
    mutating func expect(_ op: String, _ inputs: [String], attributes: Set<String> = [])
        throws(ModelFileError) -> Node
    {
        guard next < nodes.count else {
            throw .unexpectedGraph("it ends before \(op)(\(inputs.joined(separator: ", ")))")
        }
        let node = nodes[next]
        guard node.op == op, node.inputs == inputs, node.outputs.count == 1,
            Set(node.attributes.keys) == attributes
        else {
            throw .unexpectedGraph(
                "node \(next + 1) is \(node.op)(\(node.inputs.joined(separator: ", "))), "
                    + "not \(op)(\(inputs.joined(separator: ", ")))")
        }
        next += 1
        return node
    }

    mutating func network(loss: Loss, activation stated: Activation) throws(ModelFileError) -> (
        Architecture, [Float]
    ) {
        var current = "image"
        switch inputType {
        case DataType.float: break
        case DataType.uint8:
            let cast = try expect("Cast", [current], attributes: ["to"])
            guard cast.attributes["to"]?.integer == DataType.float else {
                throw .unexpectedGraph("the Cast is not to float32")
            }
            let div = try expect("Div", [cast.outputs[0], "pixel_scale"])
            guard let scale = initializers["pixel_scale"], scale.dims.isEmpty,
                scale.values == [ExportableModel.pixelScale]
            else { throw .unexpectedGraph("the pixels are not divided by 255") }
            current = div.outputs[0]
        default: throw .unexpectedGraph("its input is neither float32 nor uint8")
        }
        var sizes: [Int] = []
        var weights: [Float] = []
        var activation: Activation?
        for l in 0... {
            let names = ["weight", "bias"].map { ExportableModel.tensorName(layer: l, $0) }
            let gemm = try expect("Gemm", [current] + names)
            guard let w = initializers[names[0]], let b = initializers[names[1]],
                w.dims.count == 2, b.dims == [w.dims[1]], sizes.last ?? w.dims[0] == w.dims[0]
            else { throw .unexpectedGraph("layer \(l)'s weight and bias do not fit") }
            if sizes.isEmpty { sizes.append(w.dims[0]) }
            sizes.append(w.dims[1])
            weights += w.values + b.values
            guard next < nodes.count else { throw .unexpectedGraph("it ends after layer \(l)") }
            let op = nodes[next].op
            if op == "Softmax" {
                let softmax = try expect("Softmax", gemm.outputs, attributes: ["axis"])
                guard [1, -1].contains(softmax.attributes["axis"]?.integer),
                    softmax.outputs == ["probabilities"], next == nodes.count
                else { throw .unexpectedGraph("the Softmax is not the last node, over axis 1") }
                break
            }
            let kind: Activation
            switch op {
            case "Sigmoid": kind = .sigmoid
            case "Relu": kind = .relu
            case "LeakyRelu": kind = .leakyRelu
            default:
                throw .unexpectedGraph("node \(next + 1) is \(op), not an activation or Softmax")
            }
            guard activation == nil || activation == kind else {
                throw .unexpectedGraph("its hidden layers use different activations")
            }
            activation = kind
            let act = try expect(op, gemm.outputs, attributes: kind == .leakyRelu ? ["alpha"] : [])
            if kind == .leakyRelu, act.attributes["alpha"]?.float != Activation.leakySlope {
                throw .unexpectedGraph("LeakyRelu's alpha is not \(Activation.leakySlope)")
            }
            current = act.outputs[0]
        }
        guard sizes.count >= 2, sizes.count <= 64, sizes.allSatisfy({ $0 > 0 }) else {
            throw .unexpectedGraph("it has no layer")
        }
        let architecture = Architecture(
            inputs: sizes[0], hidden: Array(sizes.dropFirst().dropLast()),
            outputs: sizes[sizes.count - 1], activation: activation ?? stated, loss: loss)
        return (architecture, weights)
    }
}
