/**
 * Exit codes are part of the CLI's contract: scripts branch on them, so each one names a
 * class of failure a caller can act on differently (fix the flags, fix the key, start the stack).
 */
export const EXIT_CODES = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  auth: 3,
  notFound: 4,
  rejected: 5,
  unavailable: 6,
  conflict: 7,
  refused: 8,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** How an HTTP error status from the edge maps onto an exit code. */
export function exitCodeForStatus(status: number): ExitCode {
  if (status === 401 || status === 403) return EXIT_CODES.auth;
  if (status === 404) return EXIT_CODES.notFound;
  // 409: the registry is not in a state that allows this (a Production version without --force).
  if (status === 409) return EXIT_CODES.conflict;
  // 422: well-formed but refused: artifact not uploaded or not matching, or the model's policy.
  if (status === 422) return EXIT_CODES.refused;
  if (status >= 400 && status < 500) return EXIT_CODES.rejected;
  if (status >= 500) return EXIT_CODES.unavailable;
  return EXIT_CODES.unexpected;
}

/** Shown in `modelgate --help`, so the table and the code above cannot drift apart unnoticed. */
export const EXIT_CODES_HELP = `Exit codes:
  ${EXIT_CODES.ok}  success
  ${EXIT_CODES.unexpected}  unexpected error (a bug, or a response the CLI does not understand)
  ${EXIT_CODES.usage}  usage error: bad flags or arguments, unreadable files or config, a delete not confirmed
  ${EXIT_CODES.auth}  authentication or authorization failed (HTTP 401/403), or no key configured
  ${EXIT_CODES.notFound}  not found (HTTP 404): no such model, version, alias or route
  ${EXIT_CODES.rejected}  request rejected (HTTP 400 and other 4xx, e.g. validation; each field error is printed once)
  ${EXIT_CODES.unavailable}  edge or worker unavailable (HTTP 5xx, timeout or connection refused)
  ${EXIT_CODES.conflict}  conflict (HTTP 409): e.g. deleting a Production version without --force, an expired upload
  ${EXIT_CODES.refused}  refused (HTTP 422): artifact missing or not matching its sha256/bytes, or the model's policy`;
