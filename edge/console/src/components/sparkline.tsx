/**
 * A small time-series chart in SVG (no chart library: a polyline and two labels are all a fleet
 * card needs). Points outside [min, max] are clamped; an empty series draws an empty frame.
 */
export interface SparklineProps {
  label: string;
  values: readonly number[];
  min?: number;
  max?: number;
  unit?: string;
  width?: number;
  height?: number;
}

export function Sparkline({ label, values, min = 0, max, unit = "", width = 160, height = 40 }: SparklineProps) {
  const top = max ?? Math.max(1, ...values);
  const range = top - min || 1;
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const points = values
    .map((value, index) => {
      const clamped = Math.min(top, Math.max(min, value));
      const y = height - ((clamped - min) / range) * height;
      return `${(index * step).toFixed(1)},${y.toFixed(1)}`;
    })
    .join(" ");
  const last = values.at(-1);
  return (
    <figure class="sparkline" data-points={values.length}>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        width={width}
        height={height}
        role="img"
        aria-label={`${label}: ${last === undefined ? "no data yet" : `${last.toFixed(1)}${unit}`}`}
      >
        <rect x="0" y="0" width={width} height={height} class="frame" />
        {values.length > 1 ? <polyline points={points} class="line" /> : null}
        {values.length === 1 ? <circle cx={width / 2} cy={points.split(",")[1]} r="2.5" class="dot" /> : null}
      </svg>
      <figcaption>
        {label} <span class="value">{last === undefined ? "—" : `${last.toFixed(1)}${unit}`}</span>
      </figcaption>
    </figure>
  );
}
