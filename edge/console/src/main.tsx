import { render } from "preact";
import { App } from "./app/App.js";

const root = document.getElementById("app");
if (root) {
  // The page's own "Loading…" line is for the moment before this script runs; Preact 11 renders
  // beside existing children rather than over them, so clear it first.
  root.replaceChildren();
  render(<App />, root);
}
