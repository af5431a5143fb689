# The modelgate GPU worker as a container image. Build from the repository root (the context
# must hold the lockfile and the workspaces; .dockerignore keeps node_modules and state out):
#
#   CPU (the default; onnxruntime-node's CPU build ships inside the npm package):
#     docker build -f infra/docker/gpu-worker.Dockerfile -t modelgate-gpu-worker .
#
#   NVIDIA GPU (CUDA 12 + cuDNN 9, which onnxruntime-node 1.30's CUDA provider is built for;
#   the host needs the NVIDIA driver and the NVIDIA Container Toolkit):
#     docker build -f infra/docker/gpu-worker.Dockerfile -t modelgate-gpu-worker:cuda \
#       --build-arg RUNTIME_BASE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04 \
#       --build-arg ONNXRUNTIME_NODE_INSTALL=cuda12 \
#       --build-arg EXECUTION_PROVIDERS=cuda,cpu .
#   ONNXRUNTIME_NODE_INSTALL=cuda12 makes onnxruntime-node's install script download the CUDA
#   provider libraries (from NuGet, so the build needs that network access); the CUDA base image
#   brings libcudart, cuBLAS and cuDNN, and Node 22 is copied in from the official Node image.
#
# Run: docker run --env-file gpu-worker.env -p 8790:8790 -v modelgate-cache:/var/cache/modelgate
# modelgate-gpu-worker (add --gpus all for the CUDA image). infra/docker/docker-compose.deploy.yml
# and docs/deploy.md show the whole set-up; every variable is listed in gpu-worker/src/config.ts.

ARG NODE_IMAGE=node:22-bookworm-slim
ARG RUNTIME_BASE=node:22-bookworm-slim

# Only the production dependencies of the two workspaces the worker runs: gpu-worker and shared.
FROM ${NODE_IMAGE} AS deps
ARG ONNXRUNTIME_NODE_INSTALL=skip
WORKDIR /app
# npm ci checks the lockfile against every workspace's package.json, so all of them come in
# (without their sources); the root postinstall script keeps the lockfile valid for npm ci.
COPY package.json package-lock.json .npmrc ./
COPY shared/package.json shared/
COPY edge/package.json edge/
COPY gpu-worker/package.json gpu-worker/
COPY cli/package.json cli/
COPY infra/package.json infra/
COPY infra/lockfile/complete-platform-entries.mjs infra/lockfile/
COPY test/package.json test/
# The worker runs its TypeScript through tsx (`node --import tsx` for the main thread; the
# inference/conversion thread bootstraps import tsx/esm/api): a dependency of gpu-worker, so
# --omit=dev keeps it. onnxruntime-node ships binaries for every platform; only Linux's are kept
# (about 220 MB less).
RUN ONNXRUNTIME_NODE_INSTALL="${ONNXRUNTIME_NODE_INSTALL}" \
    npm ci --omit=dev --workspace gpu-worker --workspace shared --no-audit --no-fund \
  && find node_modules/onnxruntime-node/bin -mindepth 2 -maxdepth 2 -type d ! -name linux -exec rm -rf {} +

# The runtime: the CPU default is the Node image itself; the CUDA variant swaps the base.
FROM ${NODE_IMAGE} AS node-binary

FROM ${RUNTIME_BASE} AS runtime
ARG EXECUTION_PROVIDERS=cpu
# The official Node binary needs only glibc >= 2.28, so it runs on Ubuntu 22.04's CUDA images too.
COPY --from=node-binary /usr/local/bin/node /usr/local/bin/node
# A dedicated user without a login shell; the code stays root-owned and read-only to it.
RUN useradd --system --user-group --home-dir /app --shell /usr/sbin/nologin modelgate \
  && mkdir -p /var/cache/modelgate \
  && chown modelgate:modelgate /var/cache/modelgate
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY shared/package.json shared/
COPY shared/src shared/src
COPY gpu-worker/package.json gpu-worker/
COPY gpu-worker/src gpu-worker/src
# Listen on every interface inside the container (the worker's own default is 127.0.0.1); keep
# PORT at 8790 and map another host port if needed, since the HEALTHCHECK below asks 8790.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8790 \
    MODELGATE_CACHE_DIR=/var/cache/modelgate \
    MODELGATE_EXECUTION_PROVIDERS=${EXECUTION_PROVIDERS}
# Downloaded artifacts (sha256-checked on load) and conversion outputs: worth keeping on a volume.
VOLUME ["/var/cache/modelgate"]
USER modelgate
EXPOSE 8790
# The slim images have no curl: Node's fetch asks the worker's open /health route.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8790/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM lets the worker stop taking requests and finish those in flight (gpu-worker/src/main.ts);
# node runs as PID 1 itself, not under npm or a shell, so the signal reaches it.
STOPSIGNAL SIGTERM
CMD ["node", "--import", "tsx", "gpu-worker/src/main.ts"]
