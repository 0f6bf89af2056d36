FROM node:24-slim
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY services ./services
COPY schemas ./schemas
COPY infra ./infra
ENV NODE_ENV=production
ENTRYPOINT ["node", "--disable-warning=TimeoutNegativeWarning", "services/cli/journey.ts"]
