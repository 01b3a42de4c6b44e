# weir: build and runtime image on Debian 12.
#
#   docker build -t weir .
#   docker run --rm weir                               # examples/two-vrf.toml for 10 s
#   docker run --rm --net=host --cap-add NET_RAW --cap-add NET_ADMIN \
#       -v $PWD/my.toml:/etc/weir.toml weir run /etc/weir.toml
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin weir

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends iproute2 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/weir /usr/local/bin/weir
COPY examples /usr/share/weir/examples
WORKDIR /usr/share/weir
ENTRYPOINT ["/usr/local/bin/weir"]
CMD ["run", "examples/two-vrf.toml", "--duration", "10"]
