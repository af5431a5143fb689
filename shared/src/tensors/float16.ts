/**
 * IEEE 754 binary32 <-> binary16 conversion on bit patterns, as ONNX stores float16 tensors
 * (`Uint16Array`, little-endian in raw_data). JavaScript has no float16 arithmetic on Node 22,
 * so rounding is done by hand: round-to-nearest, ties-to-even, like every hardware converter.
 */

// One shared scratch word: reading a float32's bits without allocating per value.
const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

/** The largest finite float16 (0x7bff). */
export const FLOAT16_MAX = 65504;

/**
 * The float16 bit pattern nearest to `value`. `value` is first rounded to float32 (the tensors this
 * converts are float32, so that step is exact for them). Overflow gives ±Infinity, values below
 * half the smallest subnormal (2^-25) give ±0, subnormals are rounded like normals, and NaN
 * stays a (quiet) NaN.
 */
export function float32ToFloat16Bits(value: number): number {
  scratchFloat[0] = value;
  const bits = scratchBits[0] ?? 0;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;

  if (exponent === 0xff) {
    // Infinity keeps a zero mantissa; NaN keeps its top payload bits and is forced quiet (0x200)
    // so that truncating the payload can never turn it into Infinity.
    return mantissa === 0 ? sign | 0x7c00 : sign | 0x7c00 | 0x200 | (mantissa >>> 13);
  }
  // float32 exponent 142 is 2^15; anything from 2^16 up overflows float16's range.
  if (exponent > 142) return sign | 0x7c00;
  if (exponent >= 113) {
    // Normal float16: rebias the exponent (127 -> 15) and round 23 mantissa bits to 10. A carry
    // out of the mantissa correctly bumps the exponent, and from 65520 up, to Infinity (0x7c00).
    let half = ((exponent - 112) << 10) | (mantissa >>> 13);
    const dropped = mantissa & 0x1fff;
    if (dropped > 0x1000 || (dropped === 0x1000 && (half & 1) === 1)) half += 1;
    return sign | half;
  }
  // Below 2^-25 (exponent < 102) the value is under half of the smallest subnormal: rounds to 0.
  if (exponent < 102) return sign;
  // Subnormal float16: the value in units of 2^-24 is (1.mantissa) * 2^(exponent - 126 + 23),
  // i.e. the 24-bit significand shifted right by 126 - exponent (14 to 24 bits).
  const significand = 0x800000 | mantissa;
  const shift = 126 - exponent;
  let half = significand >>> shift;
  const dropped = significand & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  // Rounding up from 0x3ff gives 0x400, the smallest normal: the encoding is continuous.
  if (dropped > halfway || (dropped === halfway && (half & 1) === 1)) half += 1;
  return sign | half;
}

/** The value of a float16 bit pattern (exact: every float16 is a float32 and a double). */
export function float16BitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}
