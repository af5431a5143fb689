/**
 * Tensor reference models beyond spirals, built from source like the others, to exercise what a
 * Triton user exports: an image classifier with Conv layers (`[N,3,H,W]`, uint8 pixels or float),
 * a model with two inputs of different datatypes (float32 features and an int64 category) and two
 * outputs (float scores, an int64 arg-max), and a stateful cell (state in, state out) whose state
 * is laid out `[1, batch, hidden]` like a GRU's, so its first dimension is not a batch dimension.
 *
 * Weights are seeded and mostly random, but each model computes something a test can predict:
 * the classifier's class is the image's dominant colour channel, the ranker's scores are a known
 * affine map, and the cell is `h' = tanh(x·Wx + h·Wh + b)` (reference implementations below).
 */
import { OnnxGraphBuilder } from "../onnx/onnx-graph-builder.js";
import { createSeededRandom, type SeededRandom } from "../random/seeded-random.js";
import type { BuiltReferenceModel } from "./index.js";

const IMAGE_CLASSES = ["red", "green", "blue"] as const;
const CONV_CHANNELS = 8;
/** Each class's logit is this times its channel's mean intensity (in [0, 1]), plus small noise. */
const COLOUR_GAIN = 4;

function randomValues(random: SeededRandom, count: number, scale: number): Float32Array {
  return Float32Array.from({ length: count }, () => random.gaussian() * scale);
}

/**
 * A 3×3 convolution weight `[out, in, 3, 3]` whose first `identity` output channels copy input
 * channel c (centre tap 1), the rest random: after ReLU the colour channels pass through intact.
 */
function convWeight(random: SeededRandom, out: number, inputs: number, identity: number): Float32Array {
  const weight = randomValues(random, out * inputs * 9, 0.15);
  for (let o = 0; o < identity; o++) {
    for (let i = 0; i < inputs; i++) {
      for (let k = 0; k < 9; k++) weight[(o * inputs + i) * 9 + k] = i === o && k === 4 ? 1 : 0;
    }
  }
  return weight;
}

export interface ImageClassifierOptions {
  /** `uint8`: pixels 0–255, scaled inside the graph; `float32`: intensities in [0, 1]. */
  pixels?: "uint8" | "float32";
  seed?: number;
  /**
   * Fully connected ReLU layers of this width between the pooling and the linear head
   * (`convnet-wide-head`). Their weights, not the Conv layers, then dominate a run: one image
   * reads every weight for a few flops each, a batch reads them once for all its rows, which is
   * the regime where batching pays (a GPU at small batch, or a CPU bound by memory bandwidth).
   */
  hiddenLayers?: { width: number; count: number };
}

/**
 * A `[inputs, width]` weight that copies the colour features (the first three) to the first three
 * outputs and mixes the rest randomly, so the classifier's prediction survives any depth of head.
 */
function headLayerWeight(random: SeededRandom, inputs: number, width: number): Float32Array {
  const weight = randomValues(random, inputs * width, 0.02);
  for (let i = 0; i < inputs; i++) {
    for (let o = 0; o < width; o++) {
      if (i < IMAGE_CLASSES.length || o < IMAGE_CLASSES.length) weight[i * width + o] = i === o ? 1 : 0;
    }
  }
  return weight;
}

/** `tiny-convnet` (float32) / `tiny-convnet-u8` (uint8): image `[N,3,H,W]` → `logits` `[N,3]` (red, green, blue). */
export function buildImageClassifier(options: ImageClassifierOptions = {}): BuiltReferenceModel {
  const pixels = options.pixels ?? "float32";
  const random = createSeededRandom(options.seed ?? 15);
  const hidden = options.hiddenLayers;
  const name = `${hidden ? "convnet-wide-head" : "tiny-convnet"}${pixels === "uint8" ? "-u8" : ""}`;
  const graph = new OnnxGraphBuilder({
    graphName: name,
    docString: `modelgate ${name}: dominant-colour Conv classifier`,
  });
  graph.addInput("image", pixels, ["N", 3, "height", "width"]);
  let current = "image";
  if (pixels === "uint8") {
    const scale = graph.addFloatInitializer("pixel_scale", [], [1 / 255]);
    const cast = graph.op("Cast", ["image"], { to: { int: 1 } });
    current = graph.op("Mul", [cast, scale]);
  }
  const conv = (input: string, index: number, inputs: number, stride: number) => {
    const weight = graph.addFloatInitializer(
      `conv${index}.weight`,
      [CONV_CHANNELS, inputs, 3, 3],
      convWeight(random, CONV_CHANNELS, inputs, 3),
    );
    const bias = graph.addFloatInitializer(`conv${index}.bias`, [CONV_CHANNELS], new Float32Array(CONV_CHANNELS));
    const out = graph.op("Conv", [input, weight, bias], {
      kernel_shape: { ints: [3, 3] },
      pads: { ints: [1, 1, 1, 1] },
      strides: { ints: [stride, stride] },
    });
    return graph.op("Relu", [out]);
  };
  current = conv(current, 1, 3, 1);
  current = conv(current, 2, CONV_CHANNELS, 2);
  current = graph.op("GlobalAveragePool", [current]);
  current = graph.op("Flatten", [current], { axis: { int: 1 } });
  let features = CONV_CHANNELS;
  for (let layer = 0; layer < (hidden?.count ?? 0); layer++) {
    const width = hidden?.width ?? CONV_CHANNELS;
    const weight = graph.addFloatInitializer(
      `hidden${layer}.weight`,
      [features, width],
      headLayerWeight(random, features, width),
    );
    const bias = graph.addFloatInitializer(`hidden${layer}.bias`, [width], new Float32Array(width));
    current = graph.op("Relu", [graph.op("Gemm", [current, weight, bias])]);
    features = width;
  }
  const head = randomValues(random, features * IMAGE_CLASSES.length, 0.05);
  for (let c = 0; c < IMAGE_CLASSES.length; c++) head[c * IMAGE_CLASSES.length + c] = COLOUR_GAIN;
  const weight = graph.addFloatInitializer("head.weight", [features, IMAGE_CLASSES.length], head);
  const bias = graph.addFloatInitializer("head.bias", [IMAGE_CLASSES.length], new Float32Array(IMAGE_CLASSES.length));
  graph.addNode({ opType: "Gemm", name: "head", inputs: [current, weight, bias], outputs: ["logits"] });
  graph.addOutput("logits", "float32", ["N", IMAGE_CLASSES.length]);
  return {
    name,
    onnx: graph.serialize(),
    registration: {
      kind: "tensor",
      io: {
        inputs: [{ name: "image", dtype: pixels, shape: ["N", 3, "height", "width"] }],
        outputs: [{ name: "logits", dtype: "float32", shape: ["N", IMAGE_CLASSES.length] }],
      },
      categories: ["classification"],
      benchmark_scores: {},
      metrics: {},
      description:
        `Reference image classifier: two 3x3 Conv+ReLU layers (8 channels, the second stride 2), global average pooling` +
        (hidden ? `, ${hidden.count} fully connected ReLU layers of ${hidden.width}` : "") +
        ` and a linear head. Input image [N,3,H,W] (${pixels === "uint8" ? "uint8 pixels 0-255" : "float32 intensities in [0,1]"}), ` +
        "any H and W; output logits [N,3] for red, green, blue: the dominant colour wins.",
    },
  };
}

/** The class `buildImageClassifier` predicts for an image: its dominant channel (by mean). */
export function dominantChannel(image: ArrayLike<number>, height: number, width: number): number {
  const means = [0, 1, 2].map((channel) => {
    let sum = 0;
    for (let i = 0; i < height * width; i++) sum += Number(image[channel * height * width + i] ?? 0);
    return sum;
  });
  return means.indexOf(Math.max(...means));
}

export const RANKER_FEATURES = 4;
export const RANKER_CATEGORIES = 5;
export const RANKER_SCORES = 3;

export interface RankerWeights {
  embedding: Float32Array;
  weight: Float32Array;
  bias: Float32Array;
}

function rankerWeights(seed: number): RankerWeights {
  const random = createSeededRandom(seed);
  return {
    embedding: randomValues(random, RANKER_CATEGORIES * RANKER_FEATURES, 1),
    weight: randomValues(random, RANKER_FEATURES * RANKER_SCORES, 1),
    bias: randomValues(random, RANKER_SCORES, 0.1),
  };
}

/**
 * `mixed-ranker`: `features` float32 `[batch, 4]` and `category` int64 `[batch]` →
 * `scores` float32 `[batch, 3]` = (features + embedding[category])·W + b, and `best` int64 `[batch]`.
 */
export function buildMixedInputRanker(seed = 16): BuiltReferenceModel {
  const weights = rankerWeights(seed);
  const graph = new OnnxGraphBuilder({
    graphName: "mixed-ranker",
    docString: "modelgate mixed-ranker: two inputs of different datatypes",
  });
  graph.addInput("features", "float32", ["batch", RANKER_FEATURES]);
  graph.addInput("category", "int64", ["batch"]);
  const table = graph.addFloatInitializer(
    "category.embedding",
    [RANKER_CATEGORIES, RANKER_FEATURES],
    weights.embedding,
  );
  const embedded = graph.op("Gather", [table, "category"], { axis: { int: 0 } });
  const mixed = graph.op("Add", ["features", embedded]);
  const weight = graph.addFloatInitializer("scores.weight", [RANKER_FEATURES, RANKER_SCORES], weights.weight);
  const bias = graph.addFloatInitializer("scores.bias", [RANKER_SCORES], weights.bias);
  graph.addNode({ opType: "Gemm", name: "scores", inputs: [mixed, weight, bias], outputs: ["scores"] });
  graph.addNode({
    opType: "ArgMax",
    name: "best",
    inputs: ["scores"],
    outputs: ["best"],
    attributes: { axis: { int: 1 }, keepdims: { int: 0 } },
  });
  graph.addOutput("scores", "float32", ["batch", RANKER_SCORES]);
  graph.addOutput("best", "int64", ["batch"]);
  return {
    name: "mixed-ranker",
    onnx: graph.serialize(),
    registration: {
      kind: "tensor",
      io: {
        inputs: [
          { name: "features", dtype: "float32", shape: ["batch", RANKER_FEATURES] },
          { name: "category", dtype: "int64", shape: ["batch"] },
        ],
        outputs: [
          { name: "scores", dtype: "float32", shape: ["batch", RANKER_SCORES] },
          { name: "best", dtype: "int64", shape: ["batch"] },
        ],
      },
      categories: [],
      benchmark_scores: {},
      metrics: {},
      description:
        "Reference model with two inputs of different datatypes: features float32 [batch,4] and category int64 [batch] " +
        `(0-${RANKER_CATEGORIES - 1}, an embedding index); outputs scores float32 [batch,3] and best int64 [batch] (their arg-max).`,
    },
  };
}

/** What `mixed-ranker` computes, in float64, for a test to compare with. */
export function rankerReference(features: ArrayLike<number>, categories: ArrayLike<number>, seed = 16): number[][] {
  const { embedding, weight, bias } = rankerWeights(seed);
  return Array.from({ length: categories.length }, (_, row) => {
    const category = Number(categories[row]);
    return Array.from({ length: RANKER_SCORES }, (_, s) => {
      let sum = bias[s] ?? 0;
      for (let f = 0; f < RANKER_FEATURES; f++) {
        const x = Number(features[row * RANKER_FEATURES + f] ?? 0) + (embedding[category * RANKER_FEATURES + f] ?? 0);
        sum += x * (weight[f * RANKER_SCORES + s] ?? 0);
      }
      return sum;
    });
  });
}

export const CELL_INPUTS = 4;
export const CELL_HIDDEN = 8;

interface CellWeights {
  inputWeight: Float32Array;
  stateWeight: Float32Array;
  bias: Float32Array;
  outputWeight: Float32Array;
}

function cellWeights(seed: number): CellWeights {
  const random = createSeededRandom(seed);
  return {
    inputWeight: randomValues(random, CELL_INPUTS * CELL_HIDDEN, 0.5),
    stateWeight: randomValues(random, CELL_HIDDEN * CELL_HIDDEN, 0.3),
    bias: randomValues(random, CELL_HIDDEN, 0.1),
    outputWeight: randomValues(random, CELL_HIDDEN * CELL_INPUTS, 0.5),
  };
}

/**
 * `state-cell`: `input` float32 `[batch, 4]` and `state` float32 `[1, batch, 8]` → `output`
 * float32 `[batch, 4]` and `state_out` `[1, batch, 8]`, the state to feed with the next input.
 */
export function buildStatefulCell(seed = 17): BuiltReferenceModel {
  const weights = cellWeights(seed);
  const graph = new OnnxGraphBuilder({
    graphName: "state-cell",
    docString: "modelgate state-cell: an RNN cell, state in and out",
  });
  graph.addInput("input", "float32", ["batch", CELL_INPUTS]);
  graph.addInput("state", "float32", [1, "batch", CELL_HIDDEN]);
  const axes = graph.addInt64Initializer("state.axes", [1], [0]);
  const state = graph.op("Squeeze", ["state", axes]);
  const inputWeight = graph.addFloatInitializer("cell.input_weight", [CELL_INPUTS, CELL_HIDDEN], weights.inputWeight);
  const stateWeight = graph.addFloatInitializer("cell.state_weight", [CELL_HIDDEN, CELL_HIDDEN], weights.stateWeight);
  const bias = graph.addFloatInitializer("cell.bias", [CELL_HIDDEN], weights.bias);
  const fromInput = graph.op("Gemm", ["input", inputWeight, bias]);
  const fromState = graph.op("MatMul", [state, stateWeight]);
  const hidden = graph.op("Tanh", [graph.op("Add", [fromInput, fromState])]);
  const outputWeight = graph.addFloatInitializer(
    "cell.output_weight",
    [CELL_HIDDEN, CELL_INPUTS],
    weights.outputWeight,
  );
  graph.addNode({ opType: "MatMul", name: "output", inputs: [hidden, outputWeight], outputs: ["output"] });
  graph.addNode({ opType: "Unsqueeze", name: "state_out", inputs: [hidden, axes], outputs: ["state_out"] });
  graph.addOutput("output", "float32", ["batch", CELL_INPUTS]);
  graph.addOutput("state_out", "float32", [1, "batch", CELL_HIDDEN]);
  return {
    name: "state-cell",
    onnx: graph.serialize(),
    registration: {
      kind: "tensor",
      io: {
        inputs: [
          { name: "input", dtype: "float32", shape: ["batch", CELL_INPUTS] },
          { name: "state", dtype: "float32", shape: [1, "batch", CELL_HIDDEN] },
        ],
        outputs: [
          { name: "output", dtype: "float32", shape: ["batch", CELL_INPUTS] },
          { name: "state_out", dtype: "float32", shape: [1, "batch", CELL_HIDDEN] },
        ],
      },
      categories: [],
      benchmark_scores: {},
      metrics: {},
      description:
        "Reference stateful model (an RNN cell): input float32 [batch,4] and state float32 [1,batch,8] (zeros to start) → " +
        "output [batch,4] and state_out [1,batch,8], fed back as the next call's state. Its state's first dimension is not a batch dimension.",
    },
  };
}

/** One step of `state-cell` for one row, in float64: the new state and the output. */
export function cellReference(
  input: readonly number[],
  state: readonly number[],
  seed = 17,
): { state: number[]; output: number[] } {
  const { inputWeight, stateWeight, bias, outputWeight } = cellWeights(seed);
  const next = Array.from({ length: CELL_HIDDEN }, (_, h) => {
    let sum = bias[h] ?? 0;
    for (let i = 0; i < CELL_INPUTS; i++) sum += (input[i] ?? 0) * (inputWeight[i * CELL_HIDDEN + h] ?? 0);
    for (let j = 0; j < CELL_HIDDEN; j++) sum += (state[j] ?? 0) * (stateWeight[j * CELL_HIDDEN + h] ?? 0);
    return Math.tanh(sum);
  });
  const output = Array.from({ length: CELL_INPUTS }, (_, o) =>
    next.reduce((sum, value, h) => sum + value * (outputWeight[h * CELL_INPUTS + o] ?? 0), 0),
  );
  return { state: next, output };
}

/** Every tensor reference model of this file, default options, in a stable order. */
export function buildTensorReferenceModels(): BuiltReferenceModel[] {
  return [
    buildImageClassifier(),
    buildImageClassifier({ pixels: "uint8" }),
    buildMixedInputRanker(),
    buildStatefulCell(),
  ];
}

/** Every datatype of the Open Inference Protocol, as the registry names them. */
export const ALL_DTYPES = [
  "bool",
  "uint8",
  "uint16",
  "uint32",
  "uint64",
  "int8",
  "int16",
  "int32",
  "int64",
  "float16",
  "float32",
  "float64",
  "string",
] as const;

/**
 * `dtype-echo`: one input `x_<dtype>` `[batch, 2]` per datatype, each returned unchanged as
 * `y_<dtype>` (Identity): a model to check that every datatype survives the trip exactly.
 */
export function buildDtypeEcho(): BuiltReferenceModel {
  const graph = new OnnxGraphBuilder({
    graphName: "dtype-echo",
    docString: "modelgate dtype-echo: Identity per datatype",
  });
  const inputs = [];
  const outputs = [];
  for (const dtype of ALL_DTYPES) {
    graph.addInput(`x_${dtype}`, dtype, ["batch", 2]);
    graph.addNode({ opType: "Identity", name: `echo_${dtype}`, inputs: [`x_${dtype}`], outputs: [`y_${dtype}`] });
    graph.addOutput(`y_${dtype}`, dtype, ["batch", 2]);
    inputs.push({ name: `x_${dtype}`, dtype, shape: ["batch", 2] as (string | number)[] });
    outputs.push({ name: `y_${dtype}`, dtype, shape: ["batch", 2] as (string | number)[] });
  }
  return {
    name: "dtype-echo",
    onnx: graph.serialize(),
    registration: {
      kind: "tensor",
      io: { inputs, outputs },
      categories: [],
      benchmark_scores: {},
      metrics: {},
      description:
        "Test model: for each of the 13 V2 datatypes an input x_<dtype> [batch,2] returned unchanged as y_<dtype>.",
    },
  };
}
