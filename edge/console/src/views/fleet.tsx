/**
 * The fleet, live: every worker's heartbeat as the edge holds it, polled every second, with the
 * last minute of GPU load, memory, temperature and queue drawn from what this tab has seen; and
 * the selection flags that change how routing reads it.
 */
import { useSession } from "../api/session.js";
import { Empty, ErrorNotice, Loading } from "../components/status.js";
import { Timestamp } from "../components/time.js";
import { SelectionFlagsPanel } from "./fleet/selection-flags.js";
import { FLEET_POLL_MS, useFleet } from "./fleet/use-fleet.js";
import { WorkerCard } from "./fleet/worker-card.js";

export function FleetView() {
  const { api } = useSession();
  const fleet = useFleet(api);
  const live = fleet.workers?.filter((worker) => worker.live).length ?? 0;
  return (
    <>
      <h1>Fleet</h1>
      {fleet.workers === undefined ? (
        fleet.error ? (
          <ErrorNotice error={fleet.error} />
        ) : (
          <Loading what="the fleet" />
        )
      ) : (
        <>
          <p class="muted" aria-live="off">
            {fleet.workers.length} worker{fleet.workers.length === 1 ? "" : "s"}, {live} live · refreshed every{" "}
            {FLEET_POLL_MS / 1000} s
            {fleet.updatedAt ? (
              <>
                , last at <Timestamp iso={fleet.updatedAt} />
              </>
            ) : null}
          </p>
          {fleet.error ? (
            <ErrorNotice
              error={fleet.error}
              action={<p class="muted">Showing the last answer; the view keeps trying every second.</p>}
            />
          ) : null}
          {fleet.workers.length === 0 ? (
            <Empty>
              No worker has sent a heartbeat yet. Start one (<code>npm start</code> runs a CPU worker) and it appears
              here within its interval.
            </Empty>
          ) : (
            <div class="grid fleet-workers">
              {fleet.workers.map((entry) => (
                <WorkerCard
                  key={entry.heartbeat.worker_id}
                  entry={entry}
                  history={fleet.history[entry.heartbeat.worker_id]}
                />
              ))}
            </div>
          )}
        </>
      )}
      <SelectionFlagsPanel />
    </>
  );
}
