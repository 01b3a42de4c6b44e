# weir with DPDK: build and runtime image on Debian 12 (DPDK 22.11).
#
#   docker build -t weir .
#   docker run --rm weir                          # examples/two-vrf.toml for 10 s (no NIC)
#   docker run --rm weir run examples/dpdk-pcap.toml --duration 10   # DPDK net_pcap vdevs
#   # real NICs: hugepages and vfio-pci devices from the host
#   docker run --rm --privileged -v /dev/hugepages:/dev/hugepages -v /dev/vfio:/dev/vfio \
#       -v $PWD/router.toml:/etc/weir.toml weir run /etc/weir.toml
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
        libdpdk-dev clang libclang-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --features dpdk --bin weir

FROM debian:bookworm-slim
# `dpdk` brings the runtime libraries and every PMD (NICs and vdevs),
# plus dpdk-devbind.py for scripts/bind-nic.
RUN apt-get update && apt-get install -y --no-install-recommends \
        dpdk iproute2 pciutils \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/weir /usr/local/bin/weir
COPY examples /usr/share/weir/examples
COPY scripts /usr/share/weir/scripts
WORKDIR /usr/share/weir
# The control endpoint and metrics listen on the container's loopback
# (127.0.0.1:50051, :9469): `docker exec CONTAINER weir ctl show interfaces`.
# Serving them outside the container needs [control] with TLS (README).
ENTRYPOINT ["/usr/local/bin/weir"]
CMD ["run", "examples/two-vrf.toml", "--duration", "10"]
