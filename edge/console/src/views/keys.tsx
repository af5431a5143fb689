/** Placeholder: the keys view is being built. */
export function KeysView() {
  return <h1>Keys</h1>;
}
