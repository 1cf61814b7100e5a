/**
 * Gaussian latent of the VAE variant (AlignMix/VAE, main paper Sec. 4.4, Kingma & Welling 2014).
 *
 * The embedding head gives mu and sigma > 0 (sigma = exp(logVar / 2)). The paper mixes mu and
 * sigma "simultaneously" (a convex combination of positive sigmas stays positive), then samples
 *   z = mu + sigma * noise,   noise ~ N(0, I)                    (reparameterisation)
 * and regularises with the KL divergence to the standard normal prior, per example:
 *   KL(N(mu, diag sigma^2) || N(0, I)) = 1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2)
 * summed over every latent coordinate (vector [d] or tensor [h, w, c]).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random';
import { assertSameShape } from '../validate';

/** z = mu + sigma * noise with noise seeded from `rng`. Caller disposes the result. */
export function reparameterize<T extends tf.Tensor>(mu: T, sigma: T, rng: Rng): T {
  assertSameShape('reparameterize', 'mu', mu, 'sigma', sigma);
  const seed = rng.tfSeed();
  return tf.tidy(() => tf.add(mu, tf.mul(sigma, tf.randomNormal(mu.shape, 0, 1, 'float32', seed))) as T);
}

/** KL divergence to N(0, I) per example: [B]. Differentiable in mu and sigma. Caller disposes. */
export function klDivergence(mu: tf.Tensor, sigma: tf.Tensor): tf.Tensor1D {
  assertSameShape('klDivergence', 'mu', mu, 'sigma', sigma);
  return tf.tidy(() => {
    const terms = tf.sub(tf.add(tf.square(mu), tf.square(sigma)), tf.add(tf.mul(tf.log(sigma), 2), 1));
    const axes = Array.from({ length: mu.rank - 1 }, (_, i) => i + 1);
    return tf.mul(tf.sum(terms, axes), 0.5) as tf.Tensor1D;
  });
}
