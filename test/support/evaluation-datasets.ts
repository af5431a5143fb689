/**
 * Evaluation datasets generated for tests and benchmarks: deterministic JSONL with a mix of
 * lines — exact-match, regex and JSON-schema expectations, lines with none — so every score of
 * the report has rows behind it.
 */
export function generatedEvaluationDataset(lines: number): string {
  const rows: string[] = [];
  for (let i = 1; i <= lines; i++) {
    const prompt = `Question ${i}: continue the sequence ${i} ${i + 1} ${i + 2}`;
    switch (i % 4) {
      case 0:
        rows.push(JSON.stringify({ id: `q${i}`, prompt, expected: `${i + 3}` }));
        break;
      case 1:
        rows.push(JSON.stringify({ id: `q${i}`, prompt, expected: { type: "regex", pattern: "[a-z]" } }));
        break;
      case 2:
        rows.push(
          JSON.stringify({
            id: `q${i}`,
            messages: [{ role: "user", content: prompt }],
            expected: { type: "json_schema", schema: { type: "object" } },
          }),
        );
        break;
      default:
        rows.push(JSON.stringify({ id: `q${i}`, prompt }));
    }
  }
  return `${rows.join("\n")}\n`;
}
