# syntax=docker/dockerfile:1
# Node 24, the current LTS; package.json "engines" states the supported range (README, "Run it").
# Build stage: compile TypeScript and the native SQLite binding.
FROM node:24-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY protocols ./protocols
COPY simulators ./simulators
RUN npm run build && npm prune --omit=dev

# Runtime stage: only the built JavaScript, production dependencies and config, as a non-root user.
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    GRIDHEAD_DATA_DIR=/var/lib/gridhead
WORKDIR /app
# A CJK font, so the dashboard's Chinese renders in headless browsers run from this image
# (screenshots, reports) instead of showing boxes.
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY config ./config
RUN useradd --system --uid 10001 --home-dir /var/lib/gridhead gridhead \
 && mkdir -p /var/lib/gridhead && chown gridhead:gridhead /var/lib/gridhead
USER gridhead
VOLUME ["/var/lib/gridhead"]
EXPOSE 8080 1883 4840
ENTRYPOINT ["node", "bin/gridhead.js", "start"]
# The config path is an argument: docker run gridhead --config /etc/gridhead/production.yaml
CMD ["--config", "config/production.example.yaml"]
