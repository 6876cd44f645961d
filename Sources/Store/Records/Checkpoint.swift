/// A row of `checkpoints`: a run's parameters after an epoch, as little-endian Float32 blobs
/// with a zlib CRC-32.
import CZlib
import Foundation

/// Model parameters after an epoch. `weights` is every parameter in layer order
/// W1,b1,W2,b2,…, each W (fan_in, fan_out) row-major; `velocity` is the SGD momentum buffer
/// in the same layout, nil when momentum is 0.
public struct CheckpointRecord: Sendable, Equatable {
    public var runID: Int64
    public var epoch: Int
    public var weights: [Float]
    public var velocity: [Float]?
    /// Set by the Store; nil on a record not yet stored.
    public var createdAt: String?

    public init(
        runID: Int64, epoch: Int, weights: [Float], velocity: [Float]? = nil,
        createdAt: String? = nil
    ) {
        self.runID = runID
        self.epoch = epoch
        self.weights = weights
        self.velocity = velocity
        self.createdAt = createdAt
    }
}

// MARK: - Database

/// The stored form of a checkpoint: blobs plus their count and checksum.
struct CheckpointRow: Codable {
    static let table = "checkpoints"

    var runID: Int64
    var epoch: Int
    var weights: Data
    var velocity: Data?
    var parameterCount: Int
    /// zlib CRC-32 of weights followed by velocity; python: zlib.crc32(weights + (velocity or b'')).
    var checksum: Int64
    var createdAt: String

    enum CodingKeys: String, CodingKey {
        case runID = "run_id"
        case epoch, weights, velocity
        case parameterCount = "parameter_count"
        case checksum
        case createdAt = "created_at"
    }

    init(_ checkpoint: CheckpointRecord, createdAt: String) {
        runID = checkpoint.runID
        epoch = checkpoint.epoch
        weights = FloatBlob.encode(checkpoint.weights)
        velocity = checkpoint.velocity.map(FloatBlob.encode)
        parameterCount = checkpoint.weights.count
        checksum = Int64(FloatBlob.crc32(weights, velocity))
        self.createdAt = createdAt
    }

    /// The parameters, after checking the blobs against parameter_count and checksum.
    func record() throws -> CheckpointRecord {
        let computed = Int64(FloatBlob.crc32(weights, velocity))
        guard computed == checksum else {
            throw StoreError(
                .checksumMismatch,
                "the checkpoint is corrupt: its CRC-32 is \(hex(computed)) but "
                    + "\(hex(checksum)) was stored.")
        }
        guard weights.count == parameterCount * 4,
            velocity == nil || velocity?.count == weights.count
        else {
            throw StoreError(
                .checksumMismatch,
                "the checkpoint is corrupt: \(weights.count) bytes of weights and "
                    + "\(velocity?.count ?? 0) of velocity for \(parameterCount) parameters.")
        }
        return CheckpointRecord(
            runID: runID, epoch: epoch, weights: FloatBlob.decode(weights),
            velocity: velocity.map(FloatBlob.decode), createdAt: createdAt)
    }

    private func hex(_ value: Int64) -> String { "0x" + String(value, radix: 16) }
}

/// [Float] ⇄ little-endian Float32 bytes. On the per-epoch path (80k parameters), so on
/// little-endian hosts (every platform Swift ships on) both directions are one memcpy.
enum FloatBlob {
    static func encode(_ values: [Float]) -> Data {
        #if _endian(little)
            return values.withUnsafeBytes { Data($0) }
        #else
            return values.map(\.bitPattern.littleEndian).withUnsafeBytes { Data($0) }
        #endif
    }

    /// `data.count` must be a multiple of 4 (checked against parameter_count by the caller).
    static func decode(_ data: Data) -> [Float] {
        let count = data.count / 4
        let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = data.copyBytes(to: buffer) / 4
        }
        #if _endian(little)
            return values
        #else
            return values.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) }
        #endif
    }

    /// zlib CRC-32 of `first` followed by `second`.
    static func crc32(_ first: Data, _ second: Data?) -> UInt32 {
        var crc = CZlib.crc32(0, nil, 0)
        for data in [first, second ?? Data()] {
            data.withUnsafeBytes { bytes in
                // zlib takes a 32-bit length: feed chunks of at most 1 GiB.
                var offset = 0
                while offset < bytes.count {
                    let length = min(bytes.count - offset, 1 << 30)
                    let start = bytes.baseAddress?.advanced(by: offset)
                        .assumingMemoryBound(to: Bytef.self)
                    crc = CZlib.crc32(crc, start, uInt(length))
                    offset += length
                }
            }
        }
        return UInt32(crc)
    }
}
