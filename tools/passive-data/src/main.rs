//! `warden-passive-data [--keep-names] IN.wasm OUT.wasm`: see the library. Run by
//! scripts/build-wasm.sh (`WARDEN_WASM_NAMES=1` keeps the name section).

fn main() -> std::process::ExitCode {
    let mut args: Vec<_> = std::env::args_os().skip(1).collect();
    let keep_names = args.first().is_some_and(|a| a == "--keep-names");
    if keep_names {
        args.remove(0);
    }
    let [input, output] = args.as_slice() else {
        eprintln!("usage: warden-passive-data [--keep-names] IN.wasm OUT.wasm");
        return std::process::ExitCode::from(2);
    };
    match warden_passive_data::run(input.as_ref(), output.as_ref(), keep_names) {
        Ok(Some(moved)) => {
            println!("==> {}: {} bytes moved to a passive data segment", moved.export, moved.bytes);
            std::process::ExitCode::SUCCESS
        }
        Ok(None) => {
            println!("==> no table to move");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("warden-passive-data: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
