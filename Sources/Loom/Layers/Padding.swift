/// How a convolution or pooling window treats the border, with Keras's names.
public enum Padding: String, Sendable, CaseIterable {
    /// Only windows that fit inside the input: out = ⌊(in − window) / stride⌋ + 1.
    case valid
    /// Zero-padded so out = ⌈in / stride⌉; the padding is split as TensorFlow does, the
    /// smaller half before (top, left).
    case same

    /// The output length and the padding before, for one spatial axis.
    func geometry(input: Int, window: Int, stride: Int) -> (output: Int, before: Int) {
        switch self {
        case .valid:
            return (input >= window ? (input - window) / stride + 1 : 0, 0)
        case .same:
            let output = (input + stride - 1) / stride
            let total = max((output - 1) * stride + window - input, 0)
            return (output, total / 2)
        }
    }
}

/// The geometry of a 2-D window sliding over channels-last images `(height, width, channels)`.
struct WindowGeometry: Equatable {
    var height = 0, width = 0, channels = 0
    var windowHeight = 1, windowWidth = 1
    var strideHeight = 1, strideWidth = 1
    var outputHeight = 0, outputWidth = 0
    var padTop = 0, padLeft = 0

    init() {}

    init(input: [Int], window: (Int, Int), strides: (Int, Int), padding: Padding) {
        (height, width, channels) = (input[0], input[1], input[2])
        (windowHeight, windowWidth) = window
        (strideHeight, strideWidth) = strides
        (outputHeight, padTop) = padding.geometry(input: height, window: windowHeight, stride: strideHeight)
        (outputWidth, padLeft) = padding.geometry(input: width, window: windowWidth, stride: strideWidth)
    }

    /// The input row and column of window cell (i, j) at output (oh, ow); may lie outside.
    @inline(__always)
    func source(_ oh: Int, _ ow: Int, _ i: Int, _ j: Int) -> (row: Int, column: Int) {
        (oh * strideHeight + i - padTop, ow * strideWidth + j - padLeft)
    }

    /// Calls `body(input, cell, count)` for every run of a window that lies inside an image
    /// of `batch` images: `count` contiguous values starting at offset `input` of the images
    /// `(batch, height, width, channels)`, and at offset `cell` of the im2col rows
    /// `(batch·outH·outW, windowHeight·windowWidth·channels)`. One run is a window row
    /// clipped to the image (its cells outside it are skipped).
    @inline(__always)
    func forEachWindowRun(batch: Int, _ body: (_ input: Int, _ cell: Int, _ count: Int) -> Void) {
        let patch = windowHeight * windowWidth * channels, rowLength = windowWidth * channels
        for b in 0..<batch {
            let image = b * height * width * channels
            for oh in 0..<outputHeight {
                for ow in 0..<outputWidth {
                    let cell = ((b * outputHeight + oh) * outputWidth + ow) * patch
                    let (rows, columns) = inside(oh, ow)
                    let (top, left) = source(oh, ow, 0, columns.lowerBound)
                    for i in rows {
                        body(image + ((top + i) * width + left) * channels, cell + i * rowLength + columns.lowerBound * channels,
                             columns.count * channels)
                    }
                }
            }
        }
    }

    /// The window cells of output (oh, ow) that lie inside the input: rows `i` and columns
    /// `j` of the window, clipped once per output rather than tested per cell.
    @inline(__always)
    func inside(_ oh: Int, _ ow: Int) -> (rows: Range<Int>, columns: Range<Int>) {
        let top = oh * strideHeight - padTop, left = ow * strideWidth - padLeft
        return (max(0, -top)..<min(windowHeight, height - top), max(0, -left)..<min(windowWidth, width - left))
    }
}
