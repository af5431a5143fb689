/** Secrets the edge runs with under test; the stand-in worker signs with the same secret. */
export const EDGE_TEST_SECRETS = {
  MODELGATE_ADMIN_KEY: "mg_admin_test_key_0123456789abcdef",
  MODELGATE_WORKER_TOKEN: "mg_worker_test_token_0123456789abcdef",
  MODELGATE_SIGNING_SECRET: "mg_signing_test_secret_0123456789abcdef",
  MODELGATE_METRICS_TOKEN: "mg_metrics_test_token_0123456789abcdef",
} as const;
