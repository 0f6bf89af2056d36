# The production image: one deployable per container (`journey run collector|processor|sink`).
# No infra/ and no development dependencies: the native launcher and testcontainers are for
# development only (`journey start` loads them where a stack is acquired).
FROM node:24-slim
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# npm ci's postinstall applies patches/ (patch-package) to the installed dependencies.
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund
COPY services ./services
COPY schemas ./schemas
ENV NODE_ENV=production
ENTRYPOINT ["node", "services/cli/journey.ts"]
CMD ["run", "collector"]
