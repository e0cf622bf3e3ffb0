# syntax=docker/dockerfile:1
# Lockbox Gateway: build the TypeScript in one stage, run the compiled JavaScript as a non-root user.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json tsconfig.admin.json ./
COPY src ./src
COPY admin ./admin
COPY plugins ./plugins
COPY config ./config
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    LOCKBOX_HOST=0.0.0.0 \
    LOCKBOX_PORT=8080 \
    LOCKBOX_DATA_DIR=/var/lib/lockbox
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/package.json ./package.json
COPY config/*.json ./config/
RUN mkdir -p /var/lib/lockbox && chown node:node /var/lib/lockbox
USER node
VOLUME ["/var/lib/lockbox"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.LOCKBOX_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/src/server.js"]
