// The binary16 bit conversions live in shared/ (the edge's tensor codec uses them too); the
// conversion-specific part, clamping weights into float16's range, stays here.
import { FLOAT16_MAX, float32ToFloat16Bits } from "@modelgate/shared";

export { FLOAT16_MAX, float16BitsToFloat32, float32ToFloat16Bits } from "@modelgate/shared";

/**
 * Float16 bit patterns for float32 weights. Finite values beyond float16's range are clamped to
 * ±65504 rather than becoming Infinity: graphs use large finite sentinels (the reference decoder
 * masks scores with -1e9 so that a fully masked row softmaxes to uniform instead of NaN), and an
 * infinite weight turns every product with a zero into NaN. Real Infinity and NaN are kept.
 */
export function float32ArrayToFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i] ?? 0;
    const clamped = Number.isFinite(value) ? Math.max(-FLOAT16_MAX, Math.min(FLOAT16_MAX, value)) : value;
    out[i] = float32ToFloat16Bits(clamped);
  }
  return out;
}
