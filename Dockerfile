# asi1-voice-gateway: a real-time voice gateway for ASI:One.
#
#   docker build -t asi1-voice-gateway .
#   docker run --init -p 8080:8080 -e ASI_ONE_API_KEY=sk_... asi1-voice-gateway
#
# Three stages. `deps` installs production dependencies only and depends on nothing but package*.json, so it is
# cached across source edits and runs in parallel with `build` under BuildKit. `build` compiles TypeScript with
# the full toolchain. `runtime` starts again from the bare base and receives only node_modules (production),
# dist/, public/ and package.json: no compiler, no sources, no npm cache, no build tools.
#
# The base image is an ARG. Default: Node.js 24 LTS (security fixes until April 2028), a year longer than 22 (end of
# life April 2027) and above the project's engines floor (>= 20.19); 26 became LTS only in October 2026, so move to
# it by build arg once the dependencies are tested on it. Debian 12 slim: glibc, so native add-ons install from
# their prebuilt binaries; node:24-trixie-slim (Debian 13) works the same way.
# Pin it by digest for reproducible builds: --build-arg NODE_IMAGE=node:24-bookworm-slim@sha256:<digest>.
# The image must provide `node` and `npm` on PATH and a `node` user (uid 1000), as the official images do.
ARG NODE_IMAGE=node:24-bookworm-slim

# ---------------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS base
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

# ---------------------------------------------------------------------------------------------------------
# Production dependencies only. --ignore-scripts: no dependency runs install scripts (none of the production
# dependencies needs one; scripts/docker/verify-runtime-stage.sh starts the server on exactly this install).
FROM base AS deps
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts

# ---------------------------------------------------------------------------------------------------------
# Full install (compiler included), then the TypeScript build into dist/.
FROM base AS build
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---------------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    HOST=0.0.0.0
WORKDIR /app

# Everything the app reads is owned by root and read-only to it: the gateway writes nothing to disk.
# package.json is needed at run time ("type": "module"); the lockfile documents exactly what is installed.
COPY package.json package-lock.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY public ./public

# Metadata last: build-arg values that change on every release (REVISION, CREATED) then invalidate no layer.
# Set by the release pipeline, e.g.:
#   --build-arg VERSION=$(node -p "require('./package.json').version") --build-arg REVISION=$(git rev-parse HEAD)
#   --build-arg CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ) --build-arg SOURCE=https://github.com/<owner>/<repo>
ARG NODE_IMAGE
ARG VERSION=dev
ARG REVISION=""
ARG CREATED=""
ARG SOURCE=""
LABEL org.opencontainers.image.title="asi1-voice-gateway" \
      org.opencontainers.image.description="Self-hostable real-time voice gateway for ASI:One asi1-mini: a WebSocket server that streams tokens and speakable segments the moment they arrive." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"

USER node
EXPOSE 8080

# `docker stop` sends SIGTERM: the gateway stops accepting, lets active responses finish for SHUTDOWN_GRACE_MS
# (default 10 s), closes every socket with 1001 and exits 0. Give it SHUTDOWN_GRACE_MS + 5 s before SIGKILL
# (`docker stop -t 20`, compose `stop_grace_period: 20s`): Docker's default of 10 s is too short.
STOPSIGNAL SIGTERM

# Liveness with Node's own fetch: the slim image has no curl or wget, and none is added.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# Exec form, no shell: node itself is PID 1 and receives SIGTERM/SIGINT, which src/server.ts handles (graceful
# drain). The gateway starts no child processes; `docker run --init` (compose `init: true`) adds tini to reap
# any that a TOOLS_MODULE might. Extra arguments go to node: `docker run IMAGE dist/src/simulator/cli.js`.
ENTRYPOINT ["node"]
CMD ["dist/src/server.js"]
