# syntax=docker/dockerfile:1

# 1. Production dependencies only.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# 2. Generate the Prisma client from the schema.
FROM deps AS build
COPY prisma ./prisma
COPY prisma.config.ts ./
COPY scripts ./scripts
RUN node scripts/prisma-generate.mjs

# 3. The web client served at /app/ (web/ → web/dist), built with the dev dependencies (Vite, React),
#    which stay out of the runtime image.
FROM node:20-bookworm-slim AS web
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY scripts/build-web.mjs ./scripts/
COPY client ./client
COPY web ./web
RUN node scripts/build-web.mjs --force

# 4. Runtime: the app source, the generated client and production modules, as a non-root user.
FROM node:20-bookworm-slim AS runtime
# The V8 heap limit is said outright: by default Node derives it from the memory the process sees
# (the host's, up to 4 GiB of heap, or the container's limit), and a larger limit lets garbage
# and spare old-space pages make RSS 2-3x the live heap. 640 MiB is what one instance of 1 GiB
# holding 50,000 idle sockets needs (bench/results.md, "Capacity"); scale it with the instance.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    UPLOAD_DIR=/app/uploads \
    NODE_OPTIONS=--max-old-space-size=640
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json prisma.config.ts ./
COPY prisma ./prisma
COPY scripts ./scripts
COPY src ./src
# After src: the client generated at build time (.dockerignore keeps any local one out).
COPY --from=build /app/src/generated ./src/generated
COPY --from=web /app/web/dist ./web/dist
# Only the uploads directory is writable by the app's user; the code stays root-owned.
RUN mkdir -p /app/uploads && chown -R node:node /app/uploads
USER node
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=5 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/api/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# tsx is a production dependency, so `npm ci --omit=dev` above is enough to run the TypeScript
# source. server.ts applies pending migrations before it listens (under a MySQL advisory lock,
# so replicas starting together are safe); `node --import tsx scripts/migrate.ts` runs them alone
# (the `migrate` service of docker-compose.yml).
CMD ["node", "--import", "tsx", "src/server.ts"]
