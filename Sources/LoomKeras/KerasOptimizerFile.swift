import Foundation
import Loom
import LoomHDF5

/// A compiled model's optimizer state in a `.keras` archive's `model.weights.h5`, where Keras
/// 3 keeps it: datasets `optimizer/vars/0`, `1`, … in the optimizer's variable order
/// (`iteration` as a 64-bit integer scalar, `learning_rate` for a constant rate, the slots,
/// then scalar state; `KerasOptimizerVariables`).
enum KerasOptimizerFile {
    static let group = "optimizer/vars"

    /// Writes the model's optimizer state (nothing when it has none Keras knows).
    static func save(_ model: Sequential, to file: HDF5File) throws {
        guard let variables = model.kerasOptimizerVariables() else { return }
        try file.createGroup(group)
        try file.setAttribute("name", model.optimizer!.name, on: group)
        var index = 0
        func next() -> String {
            defer { index += 1 }
            return "\(group)/\(index)"
        }
        try file.write(scalar: Double(variables.iterations), integer: true, as: next())
        if let rate = variables.learningRate { try file.write(scalar: Double(rate), integer: false, as: next()) }
        for slot in variables.slots { try file.write(slot, as: next()) }
        for scalar in variables.scalars { try file.write(scalar: Double(scalar), integer: false, as: next()) }
    }

    /// Continues the model's optimizer from the state in `file`, when it holds one; refused
    /// by name when it is not this optimizer's (count or shapes), before anything changes.
    static func load(into model: Sequential, from file: HDF5File) throws {
        guard file.contains(group), let expected = model.kerasOptimizerVariables(), let optimizer = model.optimizer else { return }
        let stored = try file.datasetNames(under: group)
        let count = 1 + (expected.learningRate == nil ? 0 : 1) + expected.slots.count + expected.scalars.count
        // Keras writes only `iteration` and `learning_rate` for an optimizer never used.
        if stored.count <= 2 && stored.count < count { return }
        guard stored.count == count, (0..<count).allSatisfy({ stored.contains("\(group)/\($0)") }) else {
            throw HDF5Error(
                file: file.path, dataset: group,
                "holds \(stored.count) optimizer variables; \(optimizer.kerasClassName ?? optimizer.name) of this model keeps \(count) "
                    + "(iteration, \(expected.learningRate == nil ? "" : "learning_rate, ")\(expected.slots.count) slots"
                    + "\(expected.scalars.isEmpty ? "" : ", \(expected.scalars.count) scalars"))")
        }
        let iterations = try file.readScalar("\(group)/0")
        guard let whole = Int(exactly: iterations), whole >= 0 else {
            throw HDF5Error(file: file.path, dataset: "\(group)/0", "the iteration count \(iterations) is not a count")
        }
        var index = 1
        let rate = expected.learningRate == nil ? nil : Float(try file.readScalar("\(group)/1"))
        if rate != nil { index = 2 }
        var slots: [Tensor] = []
        for (offset, slot) in expected.slots.enumerated() {
            let name = "\(group)/\(index + offset)"
            let declared = try file.info(of: name).shape
            guard declared == slot.shape else {
                throw HDF5Error(
                    file: file.path, dataset: name,
                    "has shape \(Shape.describe(declared)); the optimizer's slot there is \(Shape.describe(slot.shape))")
            }
            slots.append(try file.read(name))
        }
        do {
            try model.restoreKerasOptimizerVariables(
                KerasOptimizerVariables(iterations: whole, learningRate: rate, slots: slots, scalars: expected.scalars))
        } catch {
            throw HDF5Error(file: file.path, dataset: group, "\(error)")
        }
    }
}
