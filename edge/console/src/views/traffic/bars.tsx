/**
 * Horizontal bar charts from the stylesheet's `.bar`: a label, the bar (its width the value's
 * share of the largest, hidden from screen readers) and the number as text, so the chart reads
 * the same without seeing it.
 */
export interface BarDatum {
  label: string;
  value: number;
  /** What is printed beside the bar (defaults to the value). */
  text?: string;
}

export function barWidth(value: number, max: number): string {
  if (!(max > 0) || !(value > 0)) return "0%";
  return `${Math.min(100, (value / max) * 100).toFixed(1)}%`;
}

export function BarChart({ label, data, max }: { label: string; data: readonly BarDatum[]; max?: number }) {
  const top = max ?? Math.max(0, ...data.map((datum) => datum.value));
  return (
    <ul class="traffic-bars" aria-label={label}>
      {data.map((datum) => (
        <li key={datum.label}>
          <span class="traffic-bar-label">{datum.label}</span>
          <span class="traffic-bar-track" aria-hidden="true">
            <span class="bar" style={{ width: barWidth(datum.value, top) }} />
          </span>
          <span class="traffic-bar-value">{datum.text ?? String(datum.value)}</span>
        </li>
      ))}
    </ul>
  );
}

export function percent(share: number | null): string {
  return share === null ? "—" : `${(share * 100).toFixed(share === 1 || share === 0 ? 0 : 1)}%`;
}

export function milliseconds(value: number | null): string {
  if (value === null) return "—";
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  // Selection itself takes fractions of a millisecond; round only what is large enough.
  return `${value.toFixed(value >= 10 ? 0 : 2)} ms`;
}

/** `null` is how the analyses group requests that named a model instead of a category. */
export function categoryLabel(category: string | null): string {
  return category === null ? "explicit model" : `auto:${category}`;
}
