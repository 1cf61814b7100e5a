/**
 * Native TensorFlow ops that tfjs-node has no TF.js kernel for (or registers only in a slower
 * form), run through its op executor: any TensorFlow op by name, with its attributes.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface TfeOpAttr { name: string; type: number; value: unknown }

/** The parts of tfjs-node's NodeJSKernelBackend used here. */
export interface NativeOpExecutor {
  binding: {
    TF_ATTR_TYPE: number; TF_ATTR_FLOAT: number; TF_ATTR_STRING: number; TF_ATTR_BOOL: number; TF_ATTR_SHAPE: number; TF_FLOAT: number;
  };
  executeMultipleOutputs(name: string, attrs: TfeOpAttr[], inputs: tf.TensorInfo[], numOutputs: number): tf.Tensor[];
}

/** The native op executor when the active backend is tfjs-node's 'tensorflow', else null. */
export function nativeOpExecutor(): NativeOpExecutor | null {
  if (tf.getBackend() !== 'tensorflow') return null;
  const backend = tf.backend() as unknown as Partial<NativeOpExecutor>;
  return typeof backend.executeMultipleOutputs === 'function' && backend.binding ? backend as NativeOpExecutor : null;
}

/**
 * ReLU's gradient as TensorFlow's single ReluGrad kernel (dy where x > 0, else 0). TF.js computes
 * it as dy * step(x), and tfjs-node's Step is a composite of IsNan, Fill and Select: measured with
 * tf.profile on a PreActResNet18 step at batch 32 (2-core CPU, 2026-11-23), its 17 ReLU gradients
 * took 60-100 ms of a 540 ms step. Registered for the Relu kernel when the native backend loads;
 * on other backends the gradient is TF.js's own.
 */
export function registerNativeReluGrad(): void {
  tf.registerGradient({
    kernelName: tf.Relu,
    inputsToSave: ['x'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const [x] = saved;
      const g = dy as tf.Tensor;
      const native = nativeOpExecutor();
      if (!native || x.dtype !== 'float32') return { x: () => tf.mul(g, tf.cast(tf.step(x), 'float32')) };
      const attrs = [{ name: 'T', type: native.binding.TF_ATTR_TYPE, value: native.binding.TF_FLOAT }];
      return { x: () => native.executeMultipleOutputs('ReluGrad', attrs, [g, x], 1)[0] };
    },
  });
}
