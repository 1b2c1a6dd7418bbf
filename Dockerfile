# scoregate on embedded defaults, the shipped model inside, as a non-root user.
#
#   bash scripts/docker/build.sh        # base image if missing, npm run build, stage, docker build
#   docker run --rm -p 8080:8080 scoregate
#
# The context is the repository, but only build/image and the model go in (.dockerignore).
# build/image is the production tree staged on the host by scripts/docker/stage.sh (compiled
# gateway and assets, production node_modules); BASE is the local image scripts/docker/base.sh
# makes (Debian bookworm minbase and this machine's node). By hand:
#   docker build --build-arg BASE="$(bash scripts/docker/base.sh)" -t scoregate .
# One stage: everything is built before, so a build stage would only copy.
ARG BASE
FROM ${BASE}

LABEL org.opencontainers.image.title=scoregate

RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home --shell /usr/sbin/nologin scoregate
WORKDIR /app
# HOST defaults to 127.0.0.1; in a container the published port arrives on another interface.
# Listening beyond loopback needs credentials: without AUTH_KEYS_FILE, AUTH_JWKS_URL or
# AUTH_JWKS_FILE the gateway refuses to start (exit 2 naming HOST; src/auth/settings.ts).
# ORT_DISABLE_TELEMETRY: onnxruntime 1.30 would otherwise try to upload usage telemetry over HTTPS.
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0 ORT_DISABLE_TELEMETRY=1

# Owned by root, read-only to the gateway; only var/ (sinks, spool, downloaded models) is its own.
COPY build/image/ ./
COPY models/fraud-detector/ ./models/fraud-detector/
RUN mkdir var && chown scoregate:scoregate var

USER 10001:10001
EXPOSE 8080
# Healthy while /readyz says ready: the model is warm, Kafka's replay has caught up, the spool
# has room. The image has no curl; node's fetch does it, on the container's own PORT (HOST must
# take loopback, as the default 0.0.0.0 does).
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/readyz').then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/main.js"]
