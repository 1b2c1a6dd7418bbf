# scoregate on embedded defaults. Build: docker build -t scoregate .  Run: docker run -p 8080:8080 scoregate
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
COPY bench ./bench
COPY loadtest ./loadtest
COPY test ./test
RUN npx tsc -p tsconfig.json && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
# HOST defaults to 127.0.0.1; in a container the published port arrives on another interface.
# A non-loopback HOST asks for credentials (AUTH_KEYS_FILE or AUTH_JWKS_URL, src/auth/settings.ts
# secureByDefault) once src/auth is wired into the transports.
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY models/fraud-detector ./models/fraud-detector
RUN mkdir -p /app/var && chown node /app/var
EXPOSE 8080
USER node
CMD ["node", "dist/src/main.js"]
