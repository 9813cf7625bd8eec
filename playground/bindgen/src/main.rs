//! `warden-bindgen IN.wasm OUT_DIR`: the JS glue and the processed module of a wasm-bindgen
//! library for a browser ES module, as `wasm-bindgen --target web --no-typescript` writes them
//! (the module loads its `.wasm` from beside itself unless told otherwise).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, out_dir] = args.as_slice() else {
        eprintln!("usage: warden-bindgen IN.wasm OUT_DIR");
        return ExitCode::from(2);
    };
    let mut bindgen = wasm_bindgen_cli_support::Bindgen::new();
    let generated = bindgen
        .input_path(input)
        .web(true)
        .and_then(|b| b.typescript(false).omit_default_module_path(false).generate(out_dir));
    match generated {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("warden-bindgen: {e:#}");
            ExitCode::FAILURE
        }
    }
}
