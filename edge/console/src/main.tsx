import { render } from "preact";

function App() {
  return <main>modelgate console</main>;
}

const root = document.getElementById("app");
if (root) render(<App />, root);
