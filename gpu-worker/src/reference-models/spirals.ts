/**
 * spirals: seed 004's two-spirals problem. A seeded dataset of two interleaved spirals, an MLP
 * trained on it right here (hand-written forward/backward and Adam over Float64Arrays), and the
 * trained weights exported as an ONNX classifier. Everything depends only on the seed, so the same
 * seed gives the same bytes on every machine.
 */

import { roundTo } from "../numbers.js";
import { OnnxGraphBuilder } from "../onnx/onnx-graph-builder.js";
import { createSeededRandom, type SeededRandom } from "../random/seeded-random.js";
import type { BuiltReferenceModel } from "./index.js";

export const SPIRALS_DEFAULT_SEED = 4;

/** Points per class; a quarter of them are held out for validation. */
const POINTS_PER_CLASS = 256;
const VALIDATION_FRACTION = 0.25;
/** How far each spiral winds, in full turns. */
const SPIRAL_TURNS = 1.75;
/** Radius range: the spirals start a little away from the origin, where the two arms would touch. */
const MIN_RADIUS = 0.1;
const MAX_RADIUS = 1;
const NOISE_STDDEV = 0.02;

const HIDDEN_SIZES: readonly number[] = [32, 32];
const LEARNING_RATE = 0.02;
const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const ADAM_EPSILON = 1e-8;
const MAX_EPOCHS = 3000;
/** Training stops early once the training set is this well fitted (checked every few epochs). */
const TARGET_TRAIN_ACCURACY = 0.995;
const EARLY_STOP_CHECK_EVERY = 25;

export interface LabelledPoints {
  /** [n, 2] row-major (x, y); float32 so that training and ONNX Runtime see exactly the same inputs. */
  features: Float32Array;
  /** 0 or 1 per point. */
  labels: Uint8Array;
  count: number;
}

export interface SpiralsDataset {
  train: LabelledPoints;
  validation: LabelledPoints;
}

/** The dataset for `seed`: two spirals, half a turn apart, shuffled and split train/validation. */
export function generateSpiralsDataset(seed: number = SPIRALS_DEFAULT_SEED): SpiralsDataset {
  const random = createSeededRandom(seed);
  const points: Array<{ x: number; y: number; label: number }> = [];
  for (let label = 0; label < 2; label++) {
    for (let i = 0; i < POINTS_PER_CLASS; i++) {
      const t = random.next();
      const radius = MIN_RADIUS + (MAX_RADIUS - MIN_RADIUS) * t;
      // The second spiral is the first rotated by half a turn, which interleaves the arms.
      const angle = 2 * Math.PI * SPIRAL_TURNS * t + label * Math.PI;
      points.push({
        x: radius * Math.cos(angle) + NOISE_STDDEV * random.gaussian(),
        y: radius * Math.sin(angle) + NOISE_STDDEV * random.gaussian(),
        label,
      });
    }
  }
  random.shuffle(points);
  const validationCount = Math.round(points.length * VALIDATION_FRACTION);
  return {
    validation: toLabelledPoints(points.slice(0, validationCount)),
    train: toLabelledPoints(points.slice(validationCount)),
  };
}

function toLabelledPoints(points: ReadonlyArray<{ x: number; y: number; label: number }>): LabelledPoints {
  const features = new Float32Array(points.length * 2);
  const labels = new Uint8Array(points.length);
  points.forEach((point, index) => {
    features[index * 2] = point.x;
    features[index * 2 + 1] = point.y;
    labels[index] = point.label;
  });
  return { features, labels, count: points.length };
}

/** A dense layer: weights [inputs, outputs] row-major (the layout Gemm/MatMul expects), bias [outputs]. */
interface DenseLayer {
  inputs: number;
  outputs: number;
  weights: Float64Array;
  bias: Float64Array;
}

function initLayers(sizes: readonly number[], random: SeededRandom): DenseLayer[] {
  const layers: DenseLayer[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const inputs = sizes[l] ?? 0;
    const outputs = sizes[l + 1] ?? 0;
    // Xavier/Glorot normal, which suits tanh; the first layer gets a larger scale so that its
    // units start with the sharp, varied boundaries a spiral needs.
    const scale = Math.sqrt(2 / (inputs + outputs)) * (l === 0 ? 3 : 1);
    const weights = new Float64Array(inputs * outputs);
    for (let i = 0; i < weights.length; i++) weights[i] = random.gaussian() * scale;
    layers.push({ inputs, outputs, weights, bias: new Float64Array(outputs) });
  }
  return layers;
}

/**
 * Forward pass over `count` rows. Returns every layer's activations (tanh for hidden layers,
 * softmax for the last), which the backward pass reuses.
 */
function forward(layers: readonly DenseLayer[], features: Float64Array, count: number): Float64Array[] {
  const activations: Float64Array[] = [features];
  let input = features;
  layers.forEach((layer, index) => {
    const isLast = index === layers.length - 1;
    const output = new Float64Array(count * layer.outputs);
    const { inputs, outputs, weights, bias } = layer;
    for (let n = 0; n < count; n++) {
      for (let o = 0; o < outputs; o++) {
        let sum = bias[o] ?? 0;
        for (let i = 0; i < inputs; i++) sum += (input[n * inputs + i] ?? 0) * (weights[i * outputs + o] ?? 0);
        output[n * outputs + o] = isLast ? sum : Math.tanh(sum);
      }
      if (isLast) softmaxInPlace(output, n * outputs, outputs);
    }
    activations.push(output);
    input = output;
  });
  return activations;
}

function softmaxInPlace(values: Float64Array, offset: number, width: number): void {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < width; i++) max = Math.max(max, values[offset + i] ?? 0);
  let sum = 0;
  for (let i = 0; i < width; i++) {
    const e = Math.exp((values[offset + i] ?? 0) - max);
    values[offset + i] = e;
    sum += e;
  }
  for (let i = 0; i < width; i++) values[offset + i] = (values[offset + i] ?? 0) / sum;
}

interface Evaluation {
  accuracy: number;
  loss: number;
}

function evaluate(probabilities: Float64Array, labels: Uint8Array, count: number): Evaluation {
  let correct = 0;
  let loss = 0;
  for (let n = 0; n < count; n++) {
    const p0 = probabilities[n * 2] ?? 0;
    const p1 = probabilities[n * 2 + 1] ?? 0;
    const label = labels[n] ?? 0;
    // Ties go to class 0, like an argmax that keeps the first maximum.
    if ((p1 > p0 ? 1 : 0) === label) correct += 1;
    loss -= Math.log(Math.max(label === 1 ? p1 : p0, 1e-12));
  }
  return { accuracy: correct / count, loss: loss / count };
}

/** One full-batch gradient of mean cross-entropy, per layer (same layout as the parameters). */
function backward(
  layers: readonly DenseLayer[],
  activations: readonly Float64Array[],
  labels: Uint8Array,
  count: number,
): Array<{ weights: Float64Array; bias: Float64Array }> {
  const gradients = layers.map((layer) => ({
    weights: new Float64Array(layer.weights.length),
    bias: new Float64Array(layer.bias.length),
  }));
  // Softmax + cross-entropy: dL/dz = (p - onehot) / count.
  const last = activations[activations.length - 1] ?? new Float64Array();
  let delta = new Float64Array(last.length);
  for (let n = 0; n < count; n++) {
    const label = labels[n] ?? 0;
    for (let o = 0; o < 2; o++) delta[n * 2 + o] = ((last[n * 2 + o] ?? 0) - (o === label ? 1 : 0)) / count;
  }
  for (let l = layers.length - 1; l >= 0; l--) {
    const layer = layers[l];
    const gradient = gradients[l];
    const input = activations[l];
    if (!layer || !gradient || !input) throw new Error("layer bookkeeping is inconsistent");
    const { inputs, outputs, weights } = layer;
    for (let n = 0; n < count; n++) {
      for (let o = 0; o < outputs; o++) {
        const d = delta[n * outputs + o] ?? 0;
        gradient.bias[o] = (gradient.bias[o] ?? 0) + d;
        for (let i = 0; i < inputs; i++) {
          gradient.weights[i * outputs + o] =
            (gradient.weights[i * outputs + o] ?? 0) + (input[n * inputs + i] ?? 0) * d;
        }
      }
    }
    if (l === 0) break;
    // Through the weights and the previous layer's tanh: d(tanh) = 1 - a^2.
    const previous = new Float64Array(count * inputs);
    for (let n = 0; n < count; n++) {
      for (let i = 0; i < inputs; i++) {
        let sum = 0;
        for (let o = 0; o < outputs; o++) sum += (delta[n * outputs + o] ?? 0) * (weights[i * outputs + o] ?? 0);
        const a = input[n * inputs + i] ?? 0;
        previous[n * inputs + i] = sum * (1 - a * a);
      }
    }
    delta = previous;
  }
  return gradients;
}

class Adam {
  private readonly moments: Array<{ m: Float64Array; v: Float64Array }> = [];
  private step = 0;

  constructor(parameters: readonly Float64Array[]) {
    for (const parameter of parameters) {
      this.moments.push({ m: new Float64Array(parameter.length), v: new Float64Array(parameter.length) });
    }
  }

  update(parameters: readonly Float64Array[], gradients: readonly Float64Array[], learningRate: number): void {
    this.step += 1;
    const correction1 = 1 - ADAM_BETA1 ** this.step;
    const correction2 = 1 - ADAM_BETA2 ** this.step;
    parameters.forEach((parameter, p) => {
      const gradient = gradients[p];
      const moment = this.moments[p];
      if (!gradient || !moment) throw new Error("Adam parameter bookkeeping is inconsistent");
      for (let i = 0; i < parameter.length; i++) {
        const g = gradient[i] ?? 0;
        const m = ADAM_BETA1 * (moment.m[i] ?? 0) + (1 - ADAM_BETA1) * g;
        const v = ADAM_BETA2 * (moment.v[i] ?? 0) + (1 - ADAM_BETA2) * g * g;
        moment.m[i] = m;
        moment.v[i] = v;
        parameter[i] =
          (parameter[i] ?? 0) - (learningRate * (m / correction1)) / (Math.sqrt(v / correction2) + ADAM_EPSILON);
      }
    });
  }
}

export interface SpiralsTrainingResult {
  layers: Array<{ inputs: number; outputs: number; weights: Float32Array; bias: Float32Array }>;
  metrics: { train_acc: number; train_loss: number; val_acc: number; val_loss: number; epochs: number };
}

/**
 * Trains the classifier. Metrics are measured on the float32-rounded weights that go into the
 * ONNX file, so they describe the exported model rather than the float64 one that was trained.
 */
export function trainSpiralsClassifier(dataset: SpiralsDataset, seed: number): SpiralsTrainingResult {
  // A separate stream from the dataset's, so that changing the dataset size leaves init alone.
  const random = createSeededRandom((seed ^ 0x5eed5eed) >>> 0);
  const layers = initLayers([2, ...HIDDEN_SIZES, 2], random);
  const parameters = layers.flatMap((layer) => [layer.weights, layer.bias]);
  const optimizer = new Adam(parameters);
  const trainFeatures = Float64Array.from(dataset.train.features);
  const { labels: trainLabels, count: trainCount } = dataset.train;

  let epochs = 0;
  while (epochs < MAX_EPOCHS) {
    const activations = forward(layers, trainFeatures, trainCount);
    epochs += 1;
    if (epochs % EARLY_STOP_CHECK_EVERY === 0) {
      const probabilities = activations[activations.length - 1] ?? new Float64Array();
      if (evaluate(probabilities, trainLabels, trainCount).accuracy >= TARGET_TRAIN_ACCURACY) break;
    }
    const gradients = backward(layers, activations, trainLabels, trainCount);
    optimizer.update(
      parameters,
      gradients.flatMap((gradient) => [gradient.weights, gradient.bias]),
      LEARNING_RATE,
    );
  }

  const exported = layers.map((layer) => ({
    inputs: layer.inputs,
    outputs: layer.outputs,
    weights: Float32Array.from(layer.weights),
    bias: Float32Array.from(layer.bias),
  }));
  const rounded: DenseLayer[] = exported.map((layer) => ({
    inputs: layer.inputs,
    outputs: layer.outputs,
    weights: Float64Array.from(layer.weights),
    bias: Float64Array.from(layer.bias),
  }));
  const score = (points: LabelledPoints): Evaluation => {
    const activations = forward(rounded, Float64Array.from(points.features), points.count);
    return evaluate(activations[activations.length - 1] ?? new Float64Array(), points.labels, points.count);
  };
  const train = score(dataset.train);
  const validation = score(dataset.validation);
  return {
    layers: exported,
    metrics: {
      train_acc: roundTo(train.accuracy, 4),
      train_loss: roundTo(train.loss, 4),
      val_acc: roundTo(validation.accuracy, 4),
      val_loss: roundTo(validation.loss, 4),
      epochs,
    },
  };
}

export interface SpiralsOptions {
  /** Seeds the dataset and the initial weights. Default 4 (seed 004). */
  seed?: number;
}

export interface BuiltSpiralsClassifier extends BuiltReferenceModel {
  name: "spirals";
  /** The exact dataset the model was trained and validated on. */
  dataset: SpiralsDataset;
  /** Wall-clock training time; kept out of `registration` so that registrations are reproducible. */
  trainingMs: number;
}

export function buildSpiralsClassifier(options: SpiralsOptions = {}): BuiltSpiralsClassifier {
  const seed = options.seed ?? SPIRALS_DEFAULT_SEED;
  const dataset = generateSpiralsDataset(seed);
  const started = performance.now();
  const trained = trainSpiralsClassifier(dataset, seed);
  const trainingMs = performance.now() - started;

  const graph = new OnnxGraphBuilder({
    graphName: "spirals",
    docString: `modelgate spirals: two-spirals MLP classifier (seed ${seed})`,
  });
  graph.addInput("features", "float32", ["batch", 2]);
  let current = "features";
  trained.layers.forEach((layer, index) => {
    const isLast = index === trained.layers.length - 1;
    const weights = graph.addFloatInitializer(`dense${index}.weight`, [layer.inputs, layer.outputs], layer.weights);
    const bias = graph.addFloatInitializer(`dense${index}.bias`, [layer.outputs], layer.bias);
    const linear = isLast ? "logits" : `dense${index}.linear`;
    graph.addNode({ opType: "Gemm", name: `dense${index}`, inputs: [current, weights, bias], outputs: [linear] });
    if (isLast) {
      current = linear;
      return;
    }
    const activated = `dense${index}.tanh`;
    graph.addNode({ opType: "Tanh", name: `dense${index}_tanh`, inputs: [linear], outputs: [activated] });
    current = activated;
  });
  graph.addNode({
    opType: "Softmax",
    name: "softmax",
    inputs: [current],
    outputs: ["probabilities"],
    attributes: { axis: { int: -1 } },
  });
  graph.addOutput("probabilities", "float32", ["batch", 2]);

  const hidden = HIDDEN_SIZES.join("x");
  return {
    name: "spirals",
    onnx: graph.serialize(),
    dataset,
    trainingMs,
    registration: {
      kind: "tensor",
      io: {
        inputs: [{ name: "features", dtype: "float32", shape: ["batch", 2] }],
        outputs: [{ name: "probabilities", dtype: "float32", shape: ["batch", 2] }],
      },
      categories: ["classification"],
      primary_category: "classification",
      benchmark_scores: { two_spirals_val_acc: roundTo(trained.metrics.val_acc * 100, 2) },
      metrics: { ...trained.metrics, seed },
      description:
        `Two-spirals classifier (seed ${seed}): a 2-${hidden}-2 tanh MLP trained with Adam in TypeScript on ` +
        `${dataset.train.count} points and validated on ${dataset.validation.count}. ` +
        "Input features [batch, 2] (x, y in about [-1, 1]); output probabilities [batch, 2] for spiral 0 and spiral 1.",
    },
  };
}
