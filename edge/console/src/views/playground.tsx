/** Placeholder: the playground view is being built. */
export function PlaygroundView() {
  return <h1>Playground</h1>;
}
