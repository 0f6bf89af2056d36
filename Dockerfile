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
# kafkajs 2.2.4 schedules a negative timeout on Node >= 23 (tulios/kafkajs#1751); Node clamps it to 1 ms, as kafkajs meant.
ENTRYPOINT ["node", "--disable-warning=TimeoutNegativeWarning", "services/cli/journey.ts"]
CMD ["run", "collector"]
