/**
 * The console's frame: sign-in until a key is accepted, then a header with the views the key
 * may use, and the view the address names. Focus moves to the new view's heading on navigation,
 * so keyboard and screen-reader users land where the content changed.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { forgetKey, openSession, rememberKey, type Session, SessionContext, storedKey } from "../api/session.js";
import { ErrorNotice, Loading } from "../components/status.js";
import { FleetView } from "../views/fleet.js";
import { KeysView } from "../views/keys.js";
import { ModelsView } from "../views/models.js";
import { PlaygroundView } from "../views/playground.js";
import { SignIn } from "../views/sign-in.js";
import { TrafficView } from "../views/traffic.js";
import { href, type Route, useRoute } from "./router.js";
import { VIEWS, type ViewEntry } from "./views.js";

type SessionState =
  | { state: "checking" }
  | { state: "signed-out"; error?: unknown }
  | { state: "signed-in"; session: Session };

export function App() {
  const [session, setSession] = useState<SessionState>(() =>
    storedKey() ? { state: "checking" } : { state: "signed-out" },
  );
  const signOut = () => {
    forgetKey();
    setSession({ state: "signed-out" });
  };
  const signIn = async (key: string) => {
    try {
      const opened = await openSession(key, signOut);
      rememberKey(key);
      setSession({ state: "signed-in", session: opened });
    } catch (error) {
      forgetKey();
      setSession({ state: "signed-out", error });
    }
  };
  useEffect(() => {
    const key = storedKey();
    // Once, for a key kept from before a reload.
    if (key) void signIn(key);
  }, []);

  if (session.state === "checking") return <Loading what="your session" />;
  if (session.state === "signed-out") return <SignIn onSignIn={signIn} error={session.error} />;
  return (
    <SessionContext.Provider value={session.session}>
      <Shell session={session.session} />
    </SessionContext.Provider>
  );
}

function Shell({ session }: { session: Session }) {
  const route = useRoute();
  const allowed = VIEWS.filter((view) => session.can(view.scope));
  const [first] = route.segments;
  const active = allowed.find((view) => view.id === first) ?? allowed[0];
  const main = useRef<HTMLElement>(null);
  const shownPath = useRef(route.path);
  useEffect(() => {
    // On navigation (not on the first view: the skip link stays the first stop), move focus to
    // the new view's heading once it has rendered.
    if (shownPath.current === route.path) return;
    shownPath.current = route.path;
    const heading = main.current?.querySelector<HTMLElement>("h1");
    heading?.setAttribute("tabindex", "-1");
    heading?.focus({ preventScroll: true });
  }, [route.path]);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">modelgate</span>
        <nav aria-label="Views">
          {allowed.map((view) => (
            <a key={view.id} href={href(view.id)} aria-current={view === active ? "page" : undefined}>
              {view.label}
            </a>
          ))}
        </nav>
        <span class="who" title={`scopes: ${session.who.scopes.join(", ")}`}>
          {session.who.id} <span class="scopes">({session.who.scopes.join(", ")})</span>
        </span>
        <button type="button" class="link" onClick={session.signOut}>
          Sign out
        </button>
      </header>
      <main id="main" ref={main}>
        {active ? (
          <ViewFor view={active} route={route} />
        ) : (
          <ErrorNotice
            error={new Error("This key has no scope any console view needs (models:read, infer or admin).")}
          />
        )}
      </main>
    </>
  );
}

function ViewFor({ view, route }: { view: ViewEntry; route: Route }) {
  switch (view.id) {
    case "models":
      return <ModelsView route={route} />;
    case "fleet":
      return <FleetView />;
    case "traffic":
      return <TrafficView route={route} />;
    case "playground":
      return <PlaygroundView />;
    case "keys":
      return <KeysView />;
  }
}
