/**
 * Detaching a computation from the gradient tape (Algorithm 1, line "R <- DETACH(r P*)").
 *
 * tfjs-core has no stopGradient. `tf.customGrad(f)` runs f's forward pass as ONE kernel: the
 * engine raises its kernel depth while f runs, and ops at kernel depth > 0 are not recorded on the
 * gradient tape. So wrapping the solver in a customGrad whose gradient is zero does two things:
 * the plan carries no gradient (d plan / d inputs := 0), and the ~100 Sinkhorn iterations leave
 * nothing on the tape (no saved activations, no backward pass through them). Backprop pays one
 * zeros tensor per input. test/ot/detach.test.ts checks both properties.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Run `forward(...inputs)` so that its result has zero gradient with respect to `inputs` and
 * none of its ops are recorded for backprop. Tensors that `forward` creates besides the result
 * are disposed (customGrad runs it inside a tidy). The caller disposes the result.
 */
export function withoutGradient<T extends tf.Tensor>(inputs: tf.Tensor[], forward: (...xs: tf.Tensor[]) => T): T {
  // The zero gradients are built from shapes, not from the inputs: callers may dispose an input
  // (e.g. a reshaped view) before the backward pass runs.
  const shapes = inputs.map((x) => ({ shape: x.shape, dtype: x.dtype }));
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: forward(...(args.slice(0, inputs.length) as tf.Tensor[])),
    gradFunc: () => shapes.map(({ shape, dtype }) => tf.zeros(shape, dtype)),
  }));
  return op(...inputs) as T;
}
