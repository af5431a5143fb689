import { describe, expect, it } from "vitest";
import {
  FLOAT16_MAX,
  float16BitsToFloat32,
  float32ArrayToFloat16,
  float32ToFloat16Bits,
} from "../src/conversion/float16.js";

const hex = (bits: number) => `0x${bits.toString(16).padStart(4, "0")}`;

describe("float32 -> float16 bits", () => {
  it.each([
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [FLOAT16_MAX, 0x7bff],
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [1023 * 2 ** -24, 0x03ff], // largest subnormal
    [Number.POSITIVE_INFINITY, 0x7c00],
    [Number.NEGATIVE_INFINITY, 0xfc00],
  ])("converts %d exactly to %s", (value, bits) => {
    expect(hex(float32ToFloat16Bits(value))).toBe(hex(bits));
  });

  it("rounds to nearest, ties to even", () => {
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties go to the even mantissa (1).
    expect(hex(float32ToFloat16Bits(1 + 2 ** -11))).toBe("0x3c00");
    // 1 + 3 * 2^-11 is halfway between mantissas 1 and 2: goes to 2.
    expect(hex(float32ToFloat16Bits(1 + 3 * 2 ** -11))).toBe("0x3c02");
    // Just above halfway rounds up.
    expect(hex(float32ToFloat16Bits(1 + 2 ** -11 + 2 ** -20))).toBe("0x3c01");
    // A carry out of the mantissa bumps the exponent: (2 - 2^-12) rounds to 2.
    expect(hex(float32ToFloat16Bits(2 - 2 ** -12))).toBe("0x4000");
  });

  it("overflows to infinity from 65520 up, and rounds 65519 down to the largest finite", () => {
    expect(hex(float32ToFloat16Bits(65519))).toBe("0x7bff");
    expect(hex(float32ToFloat16Bits(65520))).toBe("0x7c00");
    expect(hex(float32ToFloat16Bits(-1e9))).toBe("0xfc00");
    expect(hex(float32ToFloat16Bits(3.4e38))).toBe("0x7c00");
  });

  it("rounds subnormals with ties to even and flushes below half the smallest subnormal to signed zero", () => {
    expect(hex(float32ToFloat16Bits(2 ** -25))).toBe("0x0000"); // exactly half of 2^-24: tie to even 0
    expect(hex(float32ToFloat16Bits(2 ** -25 * 1.0001))).toBe("0x0001");
    expect(hex(float32ToFloat16Bits(3 * 2 ** -25))).toBe("0x0002"); // 1.5 units: tie to even 2
    expect(hex(float32ToFloat16Bits(5 * 2 ** -25))).toBe("0x0002"); // 2.5 units: tie to even 2
    expect(hex(float32ToFloat16Bits(-(2 ** -30)))).toBe("0x8000");
    expect(hex(float32ToFloat16Bits(1e-45))).toBe("0x0000"); // a float32 subnormal
    // Just under the smallest normal rounds up into it.
    expect(hex(float32ToFloat16Bits(2 ** -14 - 2 ** -30))).toBe("0x0400");
  });

  it("keeps NaN a NaN (never infinity), with its sign", () => {
    const bits = float32ToFloat16Bits(Number.NaN);
    expect(bits & 0x7c00).toBe(0x7c00);
    expect(bits & 0x03ff).not.toBe(0);
    expect(Number.isNaN(float16BitsToFloat32(bits))).toBe(true);
    // A signalling NaN whose payload lies only in the low 13 bits must not become infinity.
    const view = new DataView(new ArrayBuffer(4));
    view.setUint32(0, 0xff800001);
    const negativeNaN = float32ToFloat16Bits(view.getFloat32(0));
    expect(hex(negativeNaN & 0xfc00)).toBe("0xfc00");
    expect(negativeNaN & 0x03ff).not.toBe(0);
  });

  it("round-trips every finite float16 and infinity exactly", () => {
    for (let bits = 0; bits <= 0xffff; bits++) {
      const value = float16BitsToFloat32(bits);
      if (Number.isNaN(value)) continue;
      if (float32ToFloat16Bits(value) !== bits) throw new Error(`${hex(bits)} -> ${value} does not round-trip`);
    }
  });

  it("is the nearest float16 for values between neighbours", () => {
    const below = float16BitsToFloat32(0x3555);
    const above = float16BitsToFloat32(0x3556);
    expect(float32ToFloat16Bits(below + (above - below) * 0.49)).toBe(0x3555);
    expect(float32ToFloat16Bits(below + (above - below) * 0.51)).toBe(0x3556);
  });
});

describe("float32ArrayToFloat16", () => {
  it("clamps finite values beyond the float16 range to ±65504 but keeps infinities and NaN", () => {
    const bits = float32ArrayToFloat16(Float32Array.from([-1e9, 1e5, Number.POSITIVE_INFINITY, Number.NaN, 0.1]));
    expect(Array.from(bits.subarray(0, 3), hex)).toEqual(["0xfbff", "0x7bff", "0x7c00"]);
    expect(Number.isNaN(float16BitsToFloat32(bits[3] ?? 0))).toBe(true);
    expect(float16BitsToFloat32(bits[4] ?? 0)).toBeCloseTo(0.1, 3);
  });
});
