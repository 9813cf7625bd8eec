//! Moves marked tables of a wasm module out of its active data segments into passive ones.
//!
//! Every instance of a module gets its own linear memory with the active data segments copied in,
//! and Envoy runs `concurrency + 2` instances of the filter: a table the module carries costs its
//! size in every VM, whether or not that VM reads it. A passive segment stays in the module until
//! a `memory.init` copies it, so only the VMs that use the table pay for it.
//!
//! The contract with the module (see `warden_filter::meter::tokens`):
//! - the table is laid out in a static as [`MARKER`], its length (`u32`, little-endian), then its
//!   bytes, and the marker occurs nowhere else in the module's data;
//! - the module exports `warden_passive_<name>(dst: i32, offset: i32, len: i32)`, whose body
//!   copies `len` bytes of the table from `offset` to `dst` out of the static (so the module also
//!   works untransformed), and never asks for bytes past the table's end.
//!
//! The transformation cuts the marker, length and table out of the active segment (which becomes
//! two: before and after them), adds the table as a passive segment, replaces the exported
//! function's body by `memory.init` of that segment (`dst`, `offset`, `len`), and removes the
//! export.
//!
//! `run` then puts the functions requests run first (the `order` module) and drops the name
//! section unless asked to keep it.

use anyhow::{anyhow, bail, Context, Result};
use walrus::{ConstExpr, DataKind, ExportItem, FunctionKind, Module, ValType};

pub mod order;

/// What precedes a table to move in the module's data.
pub const MARKER: &[u8; 16] = b"warden-passive\0\x01";

/// The prefix of the functions that copy a table out (`warden_passive_<name>`).
pub const EXPORT_PREFIX: &str = "warden_passive_";

/// One table moved: the export that copies it and its size.
#[derive(Debug, PartialEq, Eq)]
pub struct Moved {
    pub export: String,
    pub bytes: usize,
}

/// Moves the one marked table of `module` into a passive segment. A module without a
/// `warden_passive_` export is left alone (returns `None`); one with an export but not exactly
/// one marked table, or with more than one such export, is an error.
pub fn transform(module: &mut Module) -> Result<Option<Moved>> {
    let exports: Vec<_> = module
        .exports
        .iter()
        .filter(|e| e.name.starts_with(EXPORT_PREFIX))
        .map(|e| (e.id(), e.name.clone(), e.item))
        .collect();
    let (export_id, name, item) = match exports.as_slice() {
        [] => return Ok(None),
        [one] => one.clone(),
        _ => bail!("more than one {EXPORT_PREFIX}* export: one table is supported"),
    };
    let ExportItem::Function(func_id) = item else { bail!("{name} is not a function") };

    // Find the marked table in exactly one place.
    let mut found = None;
    for data in module.data.iter() {
        let DataKind::Active { .. } = data.kind else { continue };
        for (at, window) in data.value.windows(MARKER.len()).enumerate() {
            if window == MARKER {
                if found.is_some() {
                    bail!("the marker occurs more than once in the module's data");
                }
                found = Some((data.id(), at));
            }
        }
    }
    let (data_id, at) = found.ok_or_else(|| anyhow!("{name} is exported but no table is marked"))?;
    let data = module.data.get(data_id);
    let DataKind::Active { memory, offset: ConstExpr::Value(walrus::ir::Value::I32(base)) } = data.kind else {
        bail!("the marked segment is not at a constant i32 address");
    };
    let len_at = at + MARKER.len();
    let len_bytes: [u8; 4] = data
        .value
        .get(len_at..len_at + 4)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| anyhow!("the marked table has no length"))?;
    let len = u32::from_le_bytes(len_bytes) as usize;
    let start = len_at + 4;
    let end = start
        .checked_add(len)
        .filter(|&e| e <= data.value.len())
        .ok_or_else(|| anyhow!("the marked table runs past its segment"))?;

    // Before the table, the table (passive), after it.
    let value = data.value.clone();
    let table = value[start..end].to_vec();
    let after_offset = base.checked_add(i32::try_from(end)?).ok_or_else(|| anyhow!("segment address overflows"))?;
    module.data.delete(data_id);
    // The marker and length go too: only the copy function read them, and it no longer does.
    if at > 0 {
        module.data.add(
            DataKind::Active { memory, offset: ConstExpr::Value(walrus::ir::Value::I32(base)) },
            value[..at].to_vec(),
        );
    }
    if end < value.len() {
        module.data.add(
            DataKind::Active { memory, offset: ConstExpr::Value(walrus::ir::Value::I32(after_offset)) },
            value[end..].to_vec(),
        );
    }
    let passive = module.data.add(DataKind::Passive, table);

    // The copy function: memory.init of `len` bytes of the segment from `offset` to `dst`.
    let ty = module.types.get(module.funcs.get(func_id).ty());
    if ty.params() != [ValType::I32; 3] || !ty.results().is_empty() {
        bail!("{name} must take three i32 (destination, offset, length) and return nothing");
    }
    let FunctionKind::Local(local) = &mut module.funcs.get_mut(func_id).kind else {
        bail!("{name} is not defined in the module");
    };
    let [dst, offset, count] = local.args[..] else { bail!("{name} has not three arguments") };
    let mut body = local.builder_mut().func_body();
    body.instrs_mut().clear();
    body.local_get(dst).local_get(offset).local_get(count).memory_init(memory, passive);
    module.exports.delete(export_id);
    Ok(Some(Moved { export: name, bytes: len }))
}

/// How a module's data is laid out, for checks: the sizes of its passive segments, the bytes of
/// its active ones, whether a marker is left in them, whether a `warden_passive_` export is, and
/// whether any function has a name (from a name section).
#[derive(Debug, PartialEq, Eq)]
pub struct Layout {
    pub passive: Vec<usize>,
    pub active_bytes: usize,
    pub marker_in_active: bool,
    pub copy_export: bool,
    pub named_functions: bool,
}

pub fn layout(module: &Module) -> Layout {
    let mut layout = Layout {
        passive: Vec::new(),
        active_bytes: 0,
        marker_in_active: false,
        copy_export: false,
        named_functions: module.funcs.iter().any(|f| f.name.is_some()),
    };
    for data in module.data.iter() {
        match data.kind {
            DataKind::Passive => layout.passive.push(data.value.len()),
            DataKind::Active { .. } => {
                layout.active_bytes += data.value.len();
                layout.marker_in_active |= data.value.windows(MARKER.len()).any(|w| w == MARKER);
            }
        }
    }
    layout.copy_export = module.exports.iter().any(|e| e.name.starts_with(EXPORT_PREFIX));
    layout
}

/// What `run` did.
#[derive(Debug, PartialEq, Eq)]
pub struct Done {
    pub moved: Option<Moved>,
    /// Functions placed first by the order file.
    pub ordered: usize,
}

/// Reads `input`, moves its marked table, puts the functions `order` names first (`order`
/// module) and writes `output`; the result is parsed again, which validates it. Without
/// `keep_names` the output has no name section: Envoy keeps the module's bytes in several copies
/// and proxy-wasm a map of every function's name per VM, for backtraces of a trap only (a panic's
/// message and place are logged by the panic hook either way), which cost ~2 MiB of resident
/// memory per Envoy (docs/efficiency.md §4).
pub fn run(input: &std::path::Path, output: &std::path::Path, keep_names: bool, order: &[String]) -> Result<Done> {
    // Names are kept through walrus: the order file names functions.
    let mut config = walrus::ModuleConfig::new();
    config.generate_name_section(true);
    let mut module = config.parse_file(input).with_context(|| format!("reading {}", input.display()))?;
    let moved = transform(&mut module)?;
    let (bytes, ordered) = order::apply(&module.emit_wasm(), order, keep_names)?;
    Module::from_buffer(&bytes).context("the transformed module does not validate")?;
    std::fs::write(output, bytes).with_context(|| format!("writing {}", output.display()))?;
    Ok(Done { moved, ordered })
}

#[cfg(test)]
mod tests {
    use super::*;
    use walrus::ir::{Instr, Value};
    use walrus::{FunctionBuilder, ModuleConfig};

    const BASE: i32 = 1024;

    /// A module with one memory, one active segment at BASE holding `before`, then (per `marks`)
    /// the marker, the table's length and `table`, then `after`; and, with `export`, an exported
    /// `warden_passive_t(dst, offset, len: i32)` whose body is `i32.const 0; drop`.
    fn module(marks: usize, table: &[u8], export: bool) -> Module {
        let mut m = Module::with_config(ModuleConfig::new());
        let memory = m.memories.add_local(false, false, 1, None, None);
        let mut bytes = b"before".to_vec();
        for _ in 0..marks {
            bytes.extend(MARKER);
            bytes.extend(u32::try_from(table.len()).unwrap().to_le_bytes());
            bytes.extend(table);
        }
        bytes.extend(b"after");
        m.data.add(DataKind::Active { memory, offset: ConstExpr::Value(Value::I32(BASE)) }, bytes);
        if export {
            let mut f = FunctionBuilder::new(&mut m.types, &[ValType::I32; 3], &[]);
            let args = vec![m.locals.add(ValType::I32), m.locals.add(ValType::I32), m.locals.add(ValType::I32)];
            f.func_body().i32_const(0).drop();
            let id = f.finish(args, &mut m.funcs);
            m.exports.add("warden_passive_t", id);
        }
        m
    }

    fn active(m: &Module) -> Vec<(i32, Vec<u8>)> {
        let mut segments: Vec<_> = m
            .data
            .iter()
            .filter_map(|d| match d.kind {
                DataKind::Active { offset: ConstExpr::Value(Value::I32(at)), .. } => Some((at, d.value.clone())),
                _ => None,
            })
            .collect();
        segments.sort();
        segments
    }

    #[test]
    fn the_table_moves_to_a_passive_segment_and_the_copy_becomes_memory_init() {
        let mut m = module(1, b"the table", true);
        let moved = transform(&mut m).unwrap();
        assert_eq!(moved, Some(Moved { export: "warden_passive_t".into(), bytes: 9 }));
        let header = 6 + MARKER.len() + 4;
        // The bytes around the table stay at their addresses; the marked table's are left out.
        assert_eq!(active(&m), vec![(BASE, b"before".to_vec()), (BASE + header as i32 + 9, b"after".to_vec())]);
        let passive: Vec<_> = m.data.iter().filter(|d| matches!(d.kind, DataKind::Passive)).collect();
        assert_eq!(passive.len(), 1);
        assert_eq!(passive[0].value, b"the table");
        assert_eq!(
            layout(&m),
            Layout {
                passive: vec![9],
                active_bytes: 6 + 5,
                marker_in_active: false,
                copy_export: false,
                named_functions: false
            }
        );
        // The function copies what it is asked for out of the segment.
        let f = m.funcs.iter().find_map(|f| match &f.kind {
            FunctionKind::Local(l) => Some(l),
            _ => None,
        });
        let body: Vec<_> = f.unwrap().block(f.unwrap().entry_block()).instrs.iter().map(|(i, _)| i.clone()).collect();
        assert!(
            matches!(body.as_slice(), [Instr::LocalGet(_), Instr::LocalGet(_), Instr::LocalGet(_), Instr::MemoryInit(init)]
            if init.data == passive[0].id())
        );
        // And the result is a valid module.
        Module::from_buffer(&m.emit_wasm()).unwrap();
    }

    #[test]
    fn names_are_dropped_unless_kept() {
        let dir = std::env::temp_dir().join(format!("warden-passive-names-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut m = module(1, b"table bytes", true);
        let f = m.funcs.iter().next().map(|f| f.id()).unwrap();
        m.funcs.get_mut(f).name = Some("a_named_function".into());
        let input = dir.join("in.wasm");
        std::fs::write(&input, m.emit_wasm()).unwrap();
        for keep in [false, true] {
            let output = dir.join(format!("out-{keep}.wasm"));
            assert!(run(&input, &output, keep, &[]).unwrap().moved.is_some());
            let bytes = std::fs::read(&output).unwrap();
            let named = bytes.windows(b"a_named_function".len()).any(|w| w == b"a_named_function");
            assert_eq!(named, keep, "keep_names {keep}");
            assert_eq!(layout(&Module::from_buffer(&bytes).unwrap()).named_functions, keep);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_module_without_the_export_is_left_alone() {
        let mut m = module(1, b"t", false);
        assert_eq!(transform(&mut m).unwrap(), None);
        assert_eq!(layout(&m).passive, Vec::<usize>::new());
    }

    #[test]
    fn an_export_without_exactly_one_marked_table_is_an_error() {
        for marks in [0, 2] {
            let err = transform(&mut module(marks, b"t", true)).unwrap_err().to_string();
            assert!(err.contains("marker occurs more than once") || err.contains("no table is marked"), "{err}");
        }
    }

    #[test]
    fn a_table_longer_than_its_segment_is_an_error() {
        let mut m = module(1, b"t", true);
        let data = m.data.iter().next().unwrap().id();
        let bytes = &mut m.data.get_mut(data).value;
        let at = bytes.windows(MARKER.len()).position(|w| w == MARKER).unwrap() + MARKER.len();
        bytes[at..at + 4].copy_from_slice(&1000u32.to_le_bytes());
        assert!(transform(&mut m).unwrap_err().to_string().contains("runs past its segment"));
    }
}
