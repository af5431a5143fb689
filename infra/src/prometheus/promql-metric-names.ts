/**
 * Which metrics a PromQL expression reads, taken from a parse tree of Prometheus' own grammar
 * (@prometheus-io/lezer-promql, the one its web UI uses) rather than a regex: a regex cannot
 * tell `rate(x[5m])`'s metric from a function, a label name, a `by (…)` clause or the text
 * inside a string. The alert-rule and dashboard tests check every name against the catalogue.
 */
import { parser } from "@prometheus-io/lezer-promql";

type PromQLTree = ReturnType<typeof parser.parse>;
type PromQLNode = PromQLTree["topNode"];

/**
 * The metric names of every vector selector in `expr`, once each, in order of appearance:
 * `foo{…}`, `foo[5m]`, and the selector form `{__name__="foo"}` (or Prometheus 3's `{"foo"}`).
 * A `__name__` matched by a regex or `!=` names no single metric and is not returned.
 * Throws naming the line and column on a syntax error.
 */
export function metricNamesInPromQL(expr: string): string[] {
  if (expr.trim() === "") throw new Error("PromQL expression is empty");
  const tree = parser.parse(expr);
  throwOnSyntaxError(expr, tree);

  const names = new Set<string>();
  tree.iterate({
    enter(ref) {
      if (ref.name !== "VectorSelector") return;
      for (const name of selectorMetricNames(ref.node, expr)) names.add(name);
      // Label matchers hold no nested selectors.
      return false;
    },
  });
  return [...names];
}

function selectorMetricNames(selector: PromQLNode, expr: string): string[] {
  const names: string[] = [];
  const identifier = selector.getChild("Identifier");
  if (identifier) names.push(textOf(identifier, expr));
  const matchers = selector.getChild("LabelMatchers");
  if (!matchers) return names;

  // `{"metric_name", label="…"}`: a bare quoted name is the metric name.
  for (const quoted of matchers.getChildren("QuotedLabelName")) {
    const literal = quoted.getChild("StringLiteral");
    if (literal) names.push(decodePromQLString(textOf(literal, expr)));
  }
  for (const matcher of [
    ...matchers.getChildren("UnquotedLabelMatcher"),
    ...matchers.getChildren("QuotedLabelMatcher"),
  ]) {
    const labelNode = matcher.getChild("LabelName") ?? matcher.getChild("QuotedLabelName")?.getChild("StringLiteral");
    const operator = matcher.getChild("MatchOp");
    const value = matcher.getChild("StringLiteral");
    if (!labelNode || !operator || !value) continue;
    const labelText = textOf(labelNode, expr);
    const label = labelNode.name === "StringLiteral" ? decodePromQLString(labelText) : labelText;
    if (label === "__name__" && operator.getChild("EqlSingle")) names.push(decodePromQLString(textOf(value, expr)));
  }
  return names;
}

function throwOnSyntaxError(expr: string, tree: PromQLTree): void {
  let errorAt: number | undefined;
  tree.iterate({
    enter(ref) {
      if (errorAt !== undefined) return false;
      if (ref.type.isError) errorAt = ref.from;
      return undefined;
    },
  });
  if (errorAt === undefined) return;
  const { line, column } = lineAndColumn(expr, errorAt);
  const near = expr.slice(errorAt, errorAt + 20);
  const where = near === "" ? "at the end of the expression" : `near ${JSON.stringify(near)}`;
  throw new Error(`PromQL syntax error at line ${line}, column ${column} ${where}: ${expr}`);
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split("\n");
  const last = before[before.length - 1] ?? "";
  return { line: before.length, column: last.length + 1 };
}

function textOf(node: PromQLNode, expr: string): string {
  return expr.slice(node.from, node.to);
}

const SIMPLE_ESCAPES: Record<string, string> = {
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  "\\": "\\",
  "'": "'",
  '"': '"',
};

/**
 * A PromQL string literal's value. PromQL follows Go: backquoted strings are raw; single- and
 * double-quoted ones take Go's escapes (\n, \xHH, \uHHHH, \UHHHHHHHH, octal \ooo).
 */
export function decodePromQLString(literal: string): string {
  const quote = literal[0];
  const body = literal.slice(1, -1);
  if (quote === "`") return body;
  return body.replace(
    /\\(?:([abfnrtv\\'"])|x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|([0-7]{3}))/g,
    (_match, simple?: string, hex?: string, u4?: string, u8?: string, octal?: string) => {
      if (simple !== undefined) return SIMPLE_ESCAPES[simple] ?? simple;
      const code = hex ?? u4 ?? u8;
      if (code !== undefined) return String.fromCodePoint(Number.parseInt(code, 16));
      return String.fromCharCode(Number.parseInt(octal ?? "0", 8));
    },
  );
}
