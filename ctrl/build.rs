//! Compiles `proto/weir.proto` into the gRPC service and messages of
//! `ctrl::api::proto`, with protox (a Rust protobuf compiler), so the
//! build needs no system `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/weir.proto");
    let fds = protox::compile(["proto/weir.proto"], ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
