/**
 * `#/models?q=…&stage=…`: every live version, searched and filtered with the same query as
 * `GET /v1/models`. The filters live in the address, so a filtered list is a link to share and
 * the back button undoes a filter. Text fields apply as you type (after a pause) or on Enter;
 * choices apply at once.
 */
import type { VersionSearchItem, VersionSearchPage } from "@modelgate/shared";
import { useEffect, useRef, useState } from "preact/hooks";
import { useSession } from "../../api/session.js";
import { href, type Route } from "../../app/router.js";
import { Empty, ErrorNotice, Loading } from "../../components/status.js";
import { Timestamp } from "../../components/time.js";
import { formatNumber, MODEL_KINDS, STAGES, stageTone, versionLabel } from "./format.js";

/** The query parameters the list understands; all of them pass straight to `GET /v1/models`. */
const FILTERS = ["q", "name", "stage", "kind", "role", "tag", "category", "sort", "order"] as const;
type Filter = (typeof FILTERS)[number];
type Filters = Partial<Record<Filter, string>>;
const SORTS = [
  { value: "", label: "Newest first" },
  { value: "updated_at", label: "Recently changed" },
  { value: "name", label: "Name" },
  { value: "version", label: "Version number" },
] as const;
const PAGE_SIZE = 50;
const TYPING_PAUSE_MS = 350;

function filtersOf(query: URLSearchParams): Filters {
  const filters: Filters = {};
  for (const name of FILTERS) {
    const value = query.get(name)?.trim();
    if (value) filters[name] = value;
  }
  return filters;
}

function listHref(filters: Filters): string {
  const params = new URLSearchParams();
  for (const name of FILTERS) {
    const value = filters[name]?.trim();
    if (value) params.set(name, value);
  }
  const text = params.toString();
  return text === "" ? "#/models" : `#/models?${text}`;
}

export function ModelList({ route }: { route: Route }) {
  const applied = filtersOf(route.query);
  const appliedKey = listHref(applied);
  const [draft, setDraft] = useState<Filters>(applied);
  const sent = useRef(appliedKey);
  // The less used filters fold away, but never while they narrow the list.
  const narrowsByMore = ["tag", "category", "sort", "order"].some((name) => applied[name as Filter] !== undefined);
  const [moreOpen, setMoreOpen] = useState(narrowsByMore);
  const typing = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  // The address changed from outside (back button, a shared link): show what it says.
  useEffect(() => {
    if (appliedKey !== sent.current) {
      sent.current = appliedKey;
      setDraft(filtersOf(route.query));
      if (narrowsByMore) setMoreOpen(true);
    }
  }, [appliedKey, route.query, narrowsByMore]);
  useEffect(() => () => clearTimeout(typing.current), []);

  const apply = (next: Filters) => {
    clearTimeout(typing.current);
    const target = listHref(next);
    if (target === sent.current) return;
    sent.current = target;
    // Replace, not push: each keystroke is not a step to go back through.
    location.replace(target);
  };
  const change = (name: Filter, value: string, immediately: boolean) => {
    const next = { ...draft, [name]: value };
    setDraft(next);
    clearTimeout(typing.current);
    if (immediately) apply(next);
    else typing.current = setTimeout(() => apply(next), TYPING_PAUSE_MS);
  };
  const text = (name: Filter, label: string, placeholder: string) => (
    <label>
      {label}
      <input
        type="search"
        name={name}
        value={draft[name] ?? ""}
        placeholder={placeholder}
        autocomplete="off"
        spellcheck={false}
        onInput={(event) => change(name, event.currentTarget.value, false)}
      />
    </label>
  );
  const sort = draft.sort ?? "";
  // Open when a link already narrows by them, so what filters the list is never hidden.

  // name and role have no field of their own (links from elsewhere set them): say they apply.
  const linked = (["name", "role"] as const).filter((name) => applied[name] !== undefined);
  const sortOptions = SORTS.some((option) => option.value === sort)
    ? SORTS
    : [...SORTS, { value: sort, label: sort.replace(/^(metric|benchmark):/, "$1 ") }];

  return (
    <section class="models-list">
      <h1>Models</h1>
      <search aria-label="Filter model versions">
        <form
          class="models-filters"
          onSubmit={(event) => {
            event.preventDefault();
            apply(draft);
          }}
        >
          {text("q", "Search", "name, description, notes, tags")}
          <label>
            Stage
            <select
              name="stage"
              value={draft.stage ?? ""}
              onChange={(event) => change("stage", event.currentTarget.value, true)}
            >
              <option value="">Any stage</option>
              {STAGES.map((stage) => (
                <option key={stage} value={stage}>
                  {stage}
                </option>
              ))}
            </select>
          </label>
          <label>
            Kind
            <select
              name="kind"
              value={draft.kind ?? ""}
              onChange={(event) => change("kind", event.currentTarget.value, true)}
            >
              <option value="">Any kind</option>
              {MODEL_KINDS.map((kind) => (
                <option key={kind} value={kind}>
                  {kind}
                </option>
              ))}
            </select>
          </label>
          <button type="submit">Search</button>
          {appliedKey !== "#/models" ? (
            <a href="#/models" class="models-clear">
              Clear filters
            </a>
          ) : null}
          <details class="models-more" open={moreOpen} onToggle={(event) => setMoreOpen(event.currentTarget.open)}>
            <summary>More filters and sorting</summary>
            <div class="models-more-fields">
              {text("tag", "Tag", "e.g. lora")}
              {text("category", "Category", "e.g. code")}
              <label>
                Sort
                <select name="sort" value={sort} onChange={(event) => change("sort", event.currentTarget.value, true)}>
                  {sortOptions.map((option) => (
                    <option key={option.value} value={option.value}>
                      {option.label}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                Order
                <select
                  name="order"
                  value={draft.order ?? ""}
                  onChange={(event) => change("order", event.currentTarget.value, true)}
                >
                  <option value="">Default</option>
                  <option value="asc">Ascending</option>
                  <option value="desc">Descending</option>
                </select>
              </label>
            </div>
          </details>
        </form>
      </search>
      {linked.length > 0 ? (
        <p class="muted">
          Also narrowed by {linked.map((name) => `${name} = ${applied[name]}`).join(" and ")} (from the link).
        </p>
      ) : null}
      <SearchResults key={appliedKey} filters={applied} />
    </section>
  );
}

type ResultsState =
  | { state: "loading"; items: VersionSearchItem[] }
  | { state: "ready"; items: VersionSearchItem[]; next: string | null; total: number }
  | { state: "failed"; items: VersionSearchItem[]; error: unknown; next: string | null };

/** One search's results, page after page; keyed by the filters, so new filters start afresh. */
function SearchResults({ filters }: { filters: Filters }) {
  const { api } = useSession();
  const [results, setResults] = useState<ResultsState>({ state: "loading", items: [] });
  const controller = useRef<AbortController | undefined>(undefined);

  const load = async (items: VersionSearchItem[], cursor?: string) => {
    controller.current?.abort();
    const aborter = new AbortController();
    controller.current = aborter;
    setResults({ state: "loading", items });
    try {
      const page = await api.get<VersionSearchPage>(
        "/v1/models",
        { ...filters, limit: PAGE_SIZE, cursor },
        aborter.signal,
      );
      if (!aborter.signal.aborted) {
        setResults({ state: "ready", items: [...items, ...page.items], next: page.next_cursor, total: page.total });
      }
    } catch (error) {
      if (!aborter.signal.aborted) setResults({ state: "failed", items, error, next: cursor ?? null });
    }
  };
  // One first page per mount: the parent keys this component by its filters.
  useEffect(() => {
    void load([]);
    return () => controller.current?.abort();
  }, []);

  const metric = /^(metric|benchmark):(.+)$/.exec(filters.sort ?? "");
  const { items } = results;
  return (
    <>
      {results.state === "ready" ? (
        <p class="muted models-count" role="status" aria-live="polite">
          {results.total === 1 ? "1 version matches" : `${results.total} versions match`}
          {results.total > items.length ? ` (showing ${items.length})` : ""}
        </p>
      ) : null}
      {items.length > 0 ? (
        <div class="table-wrap">
          <table class="models-results">
            <thead>
              <tr>
                <th scope="col">Model</th>
                <th scope="col">Version</th>
                <th scope="col">Stage</th>
                <th scope="col">Kind</th>
                {metric ? <th scope="col">{metric[2]}</th> : null}
                <th scope="col">Aliases</th>
                <th scope="col">Tags</th>
                <th scope="col">Formats</th>
                <th scope="col">Registered</th>
              </tr>
            </thead>
            <tbody>
              {items.map((item) => (
                <SearchRow
                  key={`${item.name}@${item.version}`}
                  item={item}
                  metric={metric ? { source: metric[1] ?? "", name: metric[2] ?? "" } : undefined}
                />
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {results.state === "ready" && items.length === 0 ? (
        <Empty>
          No version matches these filters. <a href="#/models">Show every version</a>.
        </Empty>
      ) : null}
      {results.state === "loading" ? <Loading what={items.length > 0 ? "more versions" : "model versions"} /> : null}
      {results.state === "failed" ? <ErrorNotice error={results.error} /> : null}
      {results.state !== "loading" && results.next ? (
        <p>
          <button type="button" class="secondary" onClick={() => void load(items, results.next ?? undefined)}>
            Show more versions
          </button>
        </p>
      ) : null}
    </>
  );
}

function SearchRow({ item, metric }: { item: VersionSearchItem; metric?: { source: string; name: string } }) {
  const formats = Object.keys(item.converted_formats ?? {});
  const value =
    metric === undefined
      ? undefined
      : metric.source === "benchmark"
        ? item.benchmark_scores[metric.name]
        : item.metrics[metric.name];
  return (
    <tr>
      <th scope="row">
        <a href={href("models", item.name)}>{item.name}</a>
        {item.display_name ? <div class="muted">{item.display_name}</div> : null}
      </th>
      <td>
        <a href={href("models", item.name, item.version)}>{versionLabel(item.name, item.version)}</a>
      </td>
      <td>
        <span class={`badge ${stageTone(item.stage)}`}>{item.stage}</span>
      </td>
      <td>{item.kind}</td>
      {metric ? <td class="models-number">{value === undefined ? "—" : formatNumber(value)}</td> : null}
      <td>{item.aliases.length > 0 ? item.aliases.map((alias) => `@${alias}`).join(" ") : "—"}</td>
      <td>{item.tags.length > 0 ? item.tags.join(", ") : "—"}</td>
      <td>
        {["fp32", ...formats].join(", ")}
        {item.serving_format ? <span class="muted"> (serves {item.serving_format})</span> : null}
      </td>
      <td>
        <Timestamp iso={item.created_at} />
      </td>
    </tr>
  );
}
