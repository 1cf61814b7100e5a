/**
 * Decoder D: z -> x_hat, a residual generator that mirrors the encoder (main paper Sec. 4:
 * "a residual generator as the decoder D; the encoder and decoder have the same architecture").
 *
 * With the encoder's hidden shapes s_0 = input, s_1, ..., s_n = A (./encoder):
 *   input   vector z [d]:     Linear(d -> |A|), reshaped to s_n   (no bias: a BN follows)
 *           tensor Z [h,w,c]: ResidualUpBlock(c -> c_n) up to s_n (mirrors the 2x2 convolution)
 *   blocks  ResidualUpBlock(c_{i+1} -> c_i) up to s_i, for i = n-1 .. 1 (one per encoder stage
 *           after the first, in reverse)
 *   output  BN -> ReLU -> (nearest up-sampling to the input size if the stem changed it)
 *           -> conv3x3(c_1 -> C) -> sigmoid, so x_hat is in (0, 1) like the pixel input.
 * PreActResNet18 on 32x32: z -> 4x4x512 -> 8x8x256 -> 16x16x128 -> 32x32x64 -> 32x32x64 -> 32x32x3.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random';
import { BatchNorm2d } from '../nn/batchnorm';
import { Conv2d } from '../nn/conv';
import { Linear } from '../nn/linear';
import { Mode, Module, Sequential } from '../nn/module';
import { ResidualUpBlock, upsampleNearest } from '../nn/upsample';
import { assertShape } from '../validate';
import { ActivationShape } from './encoder';

export interface DecoderOptions {
  /** Shape of z per example: [d] or [h, w, c]. */
  latentShape: number[];
  /** The encoder's hidden shapes: input first, A last (Encoder.shapes). */
  encoderShapes: readonly ActivationShape[];
}

export class ResidualDecoder extends Module {
  readonly latentShape: number[];
  readonly outputShape: ActivationShape;
  readonly input: Linear | ResidualUpBlock;
  readonly blocks: Sequential;
  readonly bnOut: BatchNorm2d;
  readonly convOut: Conv2d;
  private readonly featureShape: ActivationShape;

  constructor(options: DecoderOptions, rng: Rng) {
    super();
    const shapes = options.encoderShapes;
    if (shapes.length < 2) throw new Error('ResidualDecoder: encoderShapes needs the input shape and at least one stage');
    const n = shapes.length - 1;
    const [ha, wa, ca] = shapes[n];
    this.latentShape = options.latentShape.slice();
    this.outputShape = shapes[0];
    this.featureShape = shapes[n];
    if (this.latentShape.length === 1) {
      this.input = this.registerModule('input', new Linear({ inFeatures: this.latentShape[0], outFeatures: ha * wa * ca, bias: false }, rng));
    } else if (this.latentShape.length === 3) {
      this.input = this.registerModule('input', new ResidualUpBlock({ inChannels: this.latentShape[2], outChannels: ca, outSize: [ha, wa] }, rng));
    } else {
      throw new Error(`ResidualDecoder: latentShape must be [d] or [h, w, c], got [${this.latentShape}]`);
    }
    const blocks: ResidualUpBlock[] = [];
    for (let i = n - 1; i >= 1; i--) {
      blocks.push(new ResidualUpBlock({ inChannels: shapes[i + 1][2], outChannels: shapes[i][2], outSize: [shapes[i][0], shapes[i][1]] }, rng));
    }
    this.blocks = this.registerModule('blocks', new Sequential(blocks));
    this.bnOut = this.registerModule('bnOut', new BatchNorm2d({ numFeatures: shapes[1][2] }));
    this.convOut = this.registerModule('convOut', new Conv2d({ inChannels: shapes[1][2], outChannels: shapes[0][2], kernelSize: 3, padding: 1 }, rng));
  }

  /** x_hat = D(z), [B, H, W, C] in (0, 1). Result in the current tidy scope. */
  forward(z: tf.Tensor, mode: Mode): tf.Tensor4D {
    assertShape('ResidualDecoder.forward', 'z', z, [null, ...this.latentShape]);
    const batch = z.shape[0];
    const a = this.input instanceof Linear
      ? tf.reshape(this.input.forward(z as tf.Tensor2D), [batch, ...this.featureShape]) as tf.Tensor4D
      : this.input.forward(z as tf.Tensor4D, mode);
    const h = tf.relu(this.bnOut.forward(this.blocks.forward(a, mode), mode));
    const [height, width] = this.outputShape;
    return tf.sigmoid(this.convOut.forward(upsampleNearest(h, [height, width])));
  }
}
