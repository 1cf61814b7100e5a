import { strict as assert } from 'assert';
import { convolutionLabel, medianSummary, parseOnednnExec, summariseOnednn } from '../../bench/onednn-verbose';

// Lines as TensorFlow 2.21's oneDNN 3.x and PyTorch 1.13's oneDNN 2.6 print them (taken from
// real logs of the b32 step, times edited to round numbers).
const TF_CONV_S2 = 'onednn_verbose,v1,primitive,exec,cpu,convolution,brg_conv_fwd:avx512_core,forward_training,src:f32::blocked:acdb::f0 wei:f32:a:blocked:Acdb64a::f0 bia:undef::undef::: dst:f32::blocked:acdb::f0,attr-scratchpad:user,alg:convolution_direct,mb32_ic64oc128_ih34oh16kh3sh2dh0ph0_iw34ow16kw3sw2dw0pw0,3.5';
const TF_REORDER = 'onednn_verbose,v1,primitive,exec,cpu,reorder,jit:uni,undef,src:f32::blocked:cdba::f0 dst:f32::blocked:Acdb64a::f0,,,64x64x3x3,0.25';
const TF_DGRAD = 'onednn_verbose,v1,primitive,exec,cpu,convolution,brg_conv_bwd:avx512_core+brg_conv_fwd:avx512_core,backward_data,src:f32::blocked:acdb::f0 wei:f32:a:blocked:Bcda32b::f0 bia:undef::undef::: dst:f32::blocked:acdb::f0,attr-scratchpad:user,alg:convolution_direct,mb32_ic512oc512_ih4oh4kh3sh1dh0ph1_iw4ow4kw3sw1dw0pw1,10';
const TF_CREATE = 'onednn_verbose,v1,primitive,create:cache_miss,cpu,convolution,brg_conv_fwd:avx512_core,forward_training,src:f32::blocked:acdb::f0,,alg:convolution_direct,mb32_ic3oc64_ih32oh32kh3sh1dh0ph1_iw32ow32kw3sw1dw0pw1,0.5';
const TORCH_CONV_S2 = 'onednn_verbose,exec,cpu,convolution,jit:avx512_core,forward_training,src_f32::blocked:aBcd16b:f0 wei_f32::blocked:ABcd16b16a:f0 bia_undef::undef::f0 dst_f32::blocked:aBcd16b:f0,attr-scratchpad:user ,alg:convolution_direct,mb32_ic64oc128_ih32oh16kh3sh2dh0ph1_iw32ow16kw3sw2dw0pw1,2.75';
const TORCH_WGRAD = 'onednn_verbose,exec,cpu,convolution,jit:avx512_core,backward_weights,src_f32::blocked:aBcd16b:f0 wei_f32::blocked:ABcd16b16a:f0 bia_undef::undef::f0 dst_f32::blocked:aBcd16b:f0,attr-scratchpad:user ,alg:convolution_direct,mb32_ic512oc512_ih4oh4kh3sh1dh0ph1_iw4ow4kw3sw1dw0pw1,9';

describe('oneDNN verbose log (bench/onednn-verbose.ts)', () => {
  it('reads both library versions\' exec lines, one list per marked window, and nothing else', () => {
    const log = [TF_CREATE, TF_CONV_S2, 'BEGIN', TF_CREATE, TF_CONV_S2, 'some other output', TF_REORDER, 'END', TF_DGRAD, ' BEGIN ', TF_DGRAD, 'END'].join('\n');
    const windows = parseOnednnExec(log, 'BEGIN', 'END');
    assert.equal(windows.length, 2);
    assert.deepEqual(windows[0], [
      { kind: 'convolution', impl: 'brg_conv_fwd:avx512_core', propagation: 'forward_training', problem: 'mb32_ic64oc128_ih34oh16kh3sh2dh0ph0_iw34ow16kw3sw2dw0pw0', ms: 3.5 },
      { kind: 'reorder', impl: 'jit:uni', propagation: 'undef', problem: '64x64x3x3', ms: 0.25 },
    ]);
    assert.deepEqual(windows[1].map((e) => [e.propagation, e.ms]), [['backward_data', 10]]);
    const torch = parseOnednnExec([TORCH_CONV_S2, TORCH_WGRAD].join('\n'));
    assert.equal(torch.length, 1);
    assert.deepEqual(torch[0].map((e) => [e.kind, e.impl, e.propagation, e.ms]), [
      ['convolution', 'jit:avx512_core', 'forward_training', 2.75], ['convolution', 'jit:avx512_core', 'backward_weights', 9]]);
  });

  it('labels a convolution by its work: the pre-padded stride-2 input and PyTorch\'s padding 1 agree', () => {
    assert.equal(convolutionLabel('mb32_ic64oc128_ih34oh16kh3sh2dh0ph0_iw34ow16kw3sw2dw0pw0', 'forward_training'), '3x3 s2 64->128 @16x16 fwd');
    assert.equal(convolutionLabel('mb32_ic64oc128_ih32oh16kh3sh2dh0ph1_iw32ow16kw3sw2dw0pw1', 'forward_training'), '3x3 s2 64->128 @16x16 fwd');
    assert.equal(convolutionLabel('mb32_ic256oc512_ih8oh4kh1sh2dh0ph0_iw8ow4kw1sw2dw0pw0', 'backward_weights'), '1x1 s2 256->512 @4x4 wgrad');
    assert.throws(() => convolutionLabel('mb32_ic3oc64_ih32oh32kh3sh1dh0ph1_iw32ow32kw3sw1dw0pw1', 'backward'), /unexpected propagation 'backward'/);
    assert.throws(() => convolutionLabel('mb32_ic3_ih32', 'forward_training'), /'mb32_ic3_ih32' has no kh/);
  });

  it('sums a step by layer and kind, and takes per-figure medians over steps', () => {
    const [step] = parseOnednnExec([TF_CONV_S2, TF_REORDER, TF_DGRAD, TF_REORDER, TORCH_CONV_S2].join('\n'));
    const s = summariseOnednn(step);
    assert.deepEqual(s.convolutions, { '3x3 s2 64->128 @16x16 fwd': 6.25, '3x3 s1 512->512 @4x4 dgrad': 10 });
    assert.deepEqual(s.others, { reorder: 0.5 });
    assert.equal(s.convolutionMs, 16.25);
    assert.equal(s.totalMs, 16.75);
    const m = medianSummary([
      { convolutions: { a: 1, b: 5 }, others: { reorder: 2 }, convolutionMs: 6, totalMs: 8 },
      { convolutions: { a: 3 }, others: { reorder: 4 }, convolutionMs: 3, totalMs: 7 },
      { convolutions: { a: 2, b: 4 }, others: { reorder: 9 }, convolutionMs: 6, totalMs: 15 },
    ]);
    assert.deepEqual(m, { convolutions: { a: 2, b: 4 }, others: { reorder: 4 }, convolutionMs: 6, totalMs: 8 });
  });
});
