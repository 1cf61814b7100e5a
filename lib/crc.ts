/**
 * Table-driven reflected CRC-32 for any polynomial: CRC-32 (IEEE 802.3, 0xEDB88320) for zip
 * entries (lib/data/zip.ts), CRC-32C (Castagnoli, 0x82F63B78) for TFRecord files
 * (lib/train/tensorboard.ts). Initial value and final xor 0xFFFFFFFF, as both formats use.
 */
export function reflectedCrc32(polynomial: number): (bytes: Uint8Array) => number {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? polynomial ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return (bytes) => {
    let c = 0xffffffff;
    for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
}
