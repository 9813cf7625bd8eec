//! Compiles `warden.proto` with protox (pure Rust, no `protoc`), then generates the prost message
//! types and, with the `grpc` feature, the tonic client and server.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=warden.proto");
    let descriptors = protox::compile(["warden.proto"], ["."])?;
    #[cfg(feature = "grpc")]
    tonic_prost_build::configure().build_client(true).build_server(true).compile_fds(descriptors)?;
    #[cfg(not(feature = "grpc"))]
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
