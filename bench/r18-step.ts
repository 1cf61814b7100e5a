/**
 * The PreActResNet18 train step the bench scripts time: 32x32 inputs, 10 classes, random N(0, 1)
 * images, lib/train/step.ts's trainStep (forward, backward, SGD momentum 0.9, weight decay 1e-4,
 * lr 0.1) in one Algorithm 1 mode; the 'feat' mode aligns at the 512 x 4 x 4 feature map with
 * the log-domain Sinkhorn, eps 0.1, exactly 100 iterations (no early stop, as the PyTorch side).
 */
import * as tf from '@tensorflow/tfjs-core';
import { createModel } from '../lib/models/factory';
import { AlignMixModel } from '../lib/models/model';
import { Rng } from '../lib/random';
import { MixMode, uniformModes } from '../lib/train/modes';
import { SGD } from '../lib/train/optim';
import { StepSettings, trainStep } from '../lib/train/step';

export const SINKHORN_ITERS = 100;

const SETTINGS: StepSettings = {
  alpha: 2, reconstructionWeight: 0, klWeight: 0,
  sinkhorn: { solver: 'log', eps: 0.1, epsMode: 'absolute', maxIter: SINKHORN_ITERS, tol: 0 },
};

export interface BenchStep {
  model: AlignMixModel;
  optimizer: SGD;
  /** One train step on the fixed batch. */
  run(): void;
  dispose(): void;
}

export function r18Step(batch: number, mode: MixMode, rng: Rng): BenchStep {
  const x = tf.randomNormal([batch, 32, 32, 3], 0, 1, 'float32', rng.tfSeed()) as tf.Tensor4D;
  const y = tf.tensor1d(Array.from({ length: batch }, () => rng.int(10)), 'int32');
  const model = createModel({ arch: 'preact-resnet18', numClasses: 10, inputShape: [32, 32, 3] }, rng);
  const optimizer = new SGD(model.parameterGroups(), { momentum: 0.9, weightDecay: 1e-4 });
  const lr = Object.fromEntries(model.parameterGroups().map((g) => [g.name, 0.1]));
  const schedule = uniformModes(mode);
  return {
    model,
    optimizer,
    run: () => { trainStep(model, optimizer, x, y, schedule, SETTINGS, lr, rng); },
    dispose: () => {
      tf.dispose([x, y]);
      optimizer.dispose();
      model.dispose();
    },
  };
}
