/** Placeholder: the fleet view is being built. */
export function FleetView() {
  return <h1>Fleet</h1>;
}
