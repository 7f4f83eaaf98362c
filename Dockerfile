# syntax=docker/dockerfile:1
# The `coprod` server as a container image: built from source with the locked dependencies, run
# as an unprivileged user, its SQLite database and key files in the volume /data. How to run it:
# docs/operations.md ("A container image").

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
# The caches keep the registry and the build between builds on one machine (CI rebuilds only
# what changed); the binary is copied out of the cached target directory.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin coprod \
 && cp target/release/coprod /usr/local/bin/coprod

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin coprod \
 && mkdir -p /data \
 && chown coprod:coprod /data \
 && chmod 0700 /data
COPY --from=build /usr/local/bin/coprod /usr/local/bin/coprod
USER coprod
WORKDIR /data
ENV DATABASE_URL=sqlite:///data/coprod.db \
    COPROD_LISTEN=0.0.0.0:8080 \
    COPROD_LOG_JSON=1
VOLUME ["/data"]
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["coprod"]
CMD ["serve"]
