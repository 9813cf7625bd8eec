//! `warden-passive-data [--keep-names] [--order FILE] IN.wasm OUT.wasm`: see the library. Run by
//! scripts/build-wasm.sh (`WARDEN_WASM_NAMES=1` keeps the name section; the order file is
//! filter/wasm-order.txt).

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args: Vec<_> = std::env::args_os().skip(1).collect();
    let keep_names = args.first().is_some_and(|a| a == "--keep-names");
    if keep_names {
        args.remove(0);
    }
    let mut order = Vec::new();
    if args.first().is_some_and(|a| a == "--order") && args.len() > 1 {
        let file = args.remove(1);
        args.remove(0);
        match std::fs::read_to_string(&file) {
            Ok(text) => order = warden_passive_data::order::parse_order(&text),
            Err(e) => {
                eprintln!("warden-passive-data: reading {}: {e}", file.to_string_lossy());
                return ExitCode::FAILURE;
            }
        }
    }
    let [input, output] = args.as_slice() else {
        eprintln!("usage: warden-passive-data [--keep-names] [--order FILE] IN.wasm OUT.wasm");
        return ExitCode::from(2);
    };
    match warden_passive_data::run(input.as_ref(), output.as_ref(), keep_names, &order) {
        Ok(done) => {
            match done.moved {
                Some(moved) => println!("==> {}: {} bytes moved to a passive data segment", moved.export, moved.bytes),
                None => println!("==> no table to move"),
            }
            println!("==> {} functions placed first (order file: {} names)", done.ordered, order.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("warden-passive-data: {e:#}");
            ExitCode::FAILURE
        }
    }
}
