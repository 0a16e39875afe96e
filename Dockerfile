# syntax=docker/dockerfile:1
# otp-relay on Node 24 LTS. Three stages: the production dependencies, the TypeScript build (with
# the dev dependencies), and the runtime image, which gets only the first two's output.
# Build: `docker build -t otp-relay .` (or `docker compose build`); .dockerignore keeps the context
# to the files copied below, so no .env, test or git history reaches any layer.
ARG NODE_IMAGE=node:24-bookworm-slim

# Production dependencies only. No install scripts: none of them builds a native addon, and a
# dependency's script is code run at build time that nothing here needs.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
  npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Compile TypeScript with the dev dependencies.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
  npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Runtime: compiled code and production dependencies, owned by root and run as the unprivileged
# `node` user of the base image, so the process cannot rewrite its own code.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production HTTP_HOST=0.0.0.0 HTTP_PORT=8080
WORKDIR /app
# package.json holds "type": "module", which Node needs to load dist/*.js as ES modules.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The `otp-relay` command on the PATH, for `docker compose exec relay otp-relay code <CODE>` when
# Discord is down: the compiled CLI (its first line is `#!/usr/bin/env node`), run with the
# container's environment, so with the relay's own Redis settings.
RUN ln -s /app/dist/cli/main.js /usr/local/bin/otp-relay && chmod 755 /app/dist/cli/main.js
USER node
EXPOSE 8080
# GET /healthz answers 200 while the process is alive (docs/contract.md#http). Node's own fetch: the slim image
# has no curl or wget.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HTTP_PORT || 8080) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Not `npm start`: npm would rebuild, and would not pass SIGTERM on; main.ts handles SIGTERM and
# SIGINT itself. Run with an init (`docker run --init`, compose `init: true`) to reap zombies.
CMD ["node", "dist/main.js"]
