//! Puts the functions a request runs first in the module, in the order they first run.
//!
//! V8 in Envoy compiles every function before the first request and lays the machine code out
//! roughly in function-index order. A request that runs a few hundred functions scattered over
//! ~7 MB of machine code touches a few hundred distinct pages and many more cache lines than the
//! same functions side by side: at the rates a gateway sees, each request finds most of that
//! code out of the CPU's caches (docs/efficiency.md §6, "function order"). This pass permutes the
//! module's defined functions so that the ones named in an order file (made from profiles of
//! requests by `scripts/wasm-order.sh`) come first, in the file's order, and every other function
//! keeps its relative place after them. Only indices change: every call, `ref.func`, export,
//! element segment, start function and name is renumbered to match, so the module means exactly
//! what it meant.
//!
//! The order file names functions by their symbols in the name section. A symbol stays the same
//! while the code changes, but not across toolchains or crate versions (hashes, crate
//! disambiguators, legacy or v0 mangling): a name the module does not have is matched by its
//! demangled path instead (`key`), which every instance of a generic function may share, and a
//! name that matches nothing is ignored. A stale file costs speed, never meaning.

use std::collections::HashMap;
use std::fmt;

use anyhow::{bail, Context, Result};
use wasm_encoder::reencode::{self, Reencode};

/// A symbol as a path without hashes or crate disambiguators (`rustc_demangle`'s alternate form):
/// the same function gets the same key from another toolchain or mangling scheme, as long as it
/// is not generic (a legacy symbol names a generic's parameters, a v0 symbol its arguments).
/// Names that are not Rust symbols are their own key.
pub fn key(symbol: &str) -> String {
    format!("{:#}", rustc_demangle::demangle(symbol))
}

/// The symbols of an order file: one per line, blank lines and `#` comments skipped.
pub fn parse_order(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_owned).collect()
}

/// The new place of every defined function.
struct Plan {
    imported: u32,
    /// Old defined-function position → new position.
    new_of_old: Vec<u32>,
    /// New position → old position.
    old_of_new: Vec<u32>,
}

impl Plan {
    fn of(wasm: &[u8], order: &[String]) -> Result<(Plan, usize)> {
        let mut imported = 0u32;
        let mut defined = 0u32;
        let mut names: HashMap<u32, String> = HashMap::new();
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            match payload? {
                wasmparser::Payload::ImportSection(section) => {
                    for import in section.into_imports() {
                        if matches!(import?.ty, wasmparser::TypeRef::Func(_) | wasmparser::TypeRef::FuncExact(_)) {
                            imported += 1;
                        }
                    }
                }
                wasmparser::Payload::FunctionSection(section) => defined = section.count(),
                wasmparser::Payload::CustomSection(section) => {
                    if let wasmparser::KnownCustom::Name(reader) = section.as_known() {
                        for subsection in reader {
                            if let wasmparser::Name::Function(map) = subsection? {
                                for naming in map {
                                    let naming = naming?;
                                    names.insert(naming.index, naming.name.to_owned());
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        // The file's names by symbol; those the module lacks, by key (see `key`).
        let symbols: std::collections::HashSet<&str> = names.values().map(String::as_str).collect();
        let mut exact: HashMap<&str, usize> = HashMap::new();
        let mut by_key: HashMap<String, usize> = HashMap::new();
        for (i, name) in order.iter().enumerate() {
            if symbols.contains(name.as_str()) {
                exact.entry(name.as_str()).or_insert(i);
            } else {
                by_key.entry(key(name)).or_insert(i);
            }
        }
        let mut places: Vec<(usize, u32)> = (0..defined)
            .map(|old| {
                let rank = names.get(&(imported + old)).and_then(|n| match exact.get(n.as_str()) {
                    Some(rank) => Some(*rank),
                    None if by_key.is_empty() => None,
                    None => by_key.get(&key(n)).copied(),
                });
                (rank.unwrap_or(usize::MAX), old)
            })
            .collect();
        let placed = places.iter().filter(|(rank, _)| *rank != usize::MAX).count();
        places.sort_by_key(|&(rank, old)| (rank, old));
        let old_of_new: Vec<u32> = places.into_iter().map(|(_, old)| old).collect();
        let mut new_of_old = vec![0u32; old_of_new.len()];
        for (new, &old) in old_of_new.iter().enumerate() {
            new_of_old[old as usize] = u32::try_from(new).context("too many functions")?;
        }
        Ok((Plan { imported, new_of_old, old_of_new }, placed))
    }
}

impl Plan {
    /// The defined functions' `items` (types, bodies), in their new order.
    fn in_new_order<'a, T>(&self, items: &'a [T]) -> Result<Vec<&'a T>, Error> {
        self.old_of_new
            .iter()
            .map(|&old| items.get(old as usize).ok_or(reencode::Error::UserError(NoSuchFunction(old))))
            .collect()
    }
}

#[derive(Debug)]
struct NoSuchFunction(u32);

impl fmt::Display for NoSuchFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "function index {} is out of range", self.0)
    }
}

impl std::error::Error for NoSuchFunction {}

type Error = reencode::Error<NoSuchFunction>;

struct Reorder<'a> {
    plan: &'a Plan,
    keep_names: bool,
}

impl Reencode for Reorder<'_> {
    type Error = NoSuchFunction;

    fn function_index(&mut self, func: u32) -> Result<u32, Error> {
        let imported = self.plan.imported;
        if func < imported {
            return Ok(func);
        }
        self.plan
            .new_of_old
            .get((func - imported) as usize)
            .map(|new| imported + new)
            .ok_or(reencode::Error::UserError(NoSuchFunction(func)))
    }

    fn parse_function_section(
        &mut self,
        functions: &mut wasm_encoder::FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), Error> {
        let types = section.into_iter().collect::<Result<Vec<u32>, _>>()?;
        for ty in self.plan.in_new_order(&types)? {
            functions.function(self.type_index(*ty)?);
        }
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), Error> {
        let bodies = section.into_iter().collect::<Result<Vec<_>, _>>()?;
        for body in self.plan.in_new_order(&bodies)? {
            self.parse_function_body(code, body.clone())?;
        }
        Ok(())
    }

    fn parse_custom_section(
        &mut self,
        module: &mut wasm_encoder::Module,
        section: wasmparser::CustomSectionReader<'_>,
    ) -> Result<(), Error> {
        if section.name() == "name" && !self.keep_names {
            return Ok(());
        }
        reencode::utils::parse_custom_section(self, module, section)
    }

    // A name map lists its indices in increasing order: renumbered, it is sorted again.
    fn parse_custom_name_subsection(
        &mut self,
        names: &mut wasm_encoder::NameSection,
        section: wasmparser::Name<'_>,
    ) -> Result<(), Error> {
        match section {
            wasmparser::Name::Function(map) => {
                let mut entries = Vec::new();
                for naming in map {
                    let naming = naming?;
                    entries.push((self.function_index(naming.index)?, naming.name));
                }
                entries.sort_by_key(|(index, _)| *index);
                let mut sorted = wasm_encoder::NameMap::new();
                for (index, name) in entries {
                    sorted.append(index, name);
                }
                names.functions(&sorted);
                Ok(())
            }
            wasmparser::Name::Local(map) => {
                let mut entries = Vec::new();
                for indirect in map {
                    let indirect = indirect?;
                    let mut locals = wasm_encoder::NameMap::new();
                    for naming in indirect.names {
                        let naming = naming?;
                        locals.append(naming.index, naming.name);
                    }
                    entries.push((self.function_index(indirect.index)?, locals));
                }
                entries.sort_by_key(|(index, _)| *index);
                let mut sorted = wasm_encoder::IndirectNameMap::new();
                for (index, locals) in &entries {
                    sorted.append(*index, locals);
                }
                names.locals(&sorted);
                Ok(())
            }
            other => reencode::utils::parse_custom_name_subsection(self, names, other),
        }
    }
}

/// `wasm` with its defined functions in the order `order` gives (see the module's doc), and
/// without its name section unless `keep_names`. Returns the module and how many functions the
/// order placed.
pub fn apply(wasm: &[u8], order: &[String], keep_names: bool) -> Result<(Vec<u8>, usize)> {
    let (plan, placed) = Plan::of(wasm, order).context("reading the module's functions")?;
    let mut module = wasm_encoder::Module::new();
    let mut reorder = Reorder { plan: &plan, keep_names };
    if let Err(e) = reorder.parse_core_module(&mut module, wasmparser::Parser::new(0), wasm) {
        bail!("renumbering the module's functions: {e}");
    }
    Ok((module.finish(), placed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use walrus::ir::Instr;
    use walrus::{
        ConstExpr, ElementItems, ElementKind, ExportItem, FunctionBuilder, FunctionId, Module, ModuleConfig, RefType,
    };

    /// Each function's name and the names of the functions it calls or refers to; each export's
    /// function; the table's functions; the start function: what renumbering must not change.
    type Meaning = (Vec<(String, Vec<String>)>, Vec<(String, String)>, Vec<String>, Option<String>);

    fn meaning(m: &Module) -> Meaning {
        let name = |id: FunctionId| m.funcs.get(id).name.clone().unwrap_or_default();
        let mut funcs: Vec<(String, Vec<String>)> = m
            .funcs
            .iter_local()
            .map(|(id, f)| {
                let calls = f
                    .block(f.entry_block())
                    .instrs
                    .iter()
                    .filter_map(|(i, _)| match i {
                        Instr::Call(c) => Some(name(c.func)),
                        Instr::RefFunc(r) => Some(format!("ref {}", name(r.func))),
                        _ => None,
                    })
                    .collect();
                (name(id), calls)
            })
            .collect();
        funcs.sort();
        let exports = m
            .exports
            .iter()
            .filter_map(|e| match e.item {
                ExportItem::Function(f) => Some((e.name.clone(), name(f))),
                _ => None,
            })
            .collect();
        let table = m
            .elements
            .iter()
            .flat_map(|e| match &e.items {
                ElementItems::Functions(fs) => fs.iter().map(|f| name(*f)).collect::<Vec<_>>(),
                _ => Vec::new(),
            })
            .collect();
        (funcs, exports, table, m.start.map(name))
    }

    fn local_order(m: &Module) -> Vec<String> {
        // walrus keeps functions in index order when it reads a module.
        m.funcs
            .iter()
            .filter(|f| matches!(f.kind, walrus::FunctionKind::Local(_)))
            .map(|f| f.name.clone().unwrap_or_default())
            .collect()
    }

    fn sample() -> Vec<u8> {
        let mut m = Module::with_config(ModuleConfig::new());
        let import_ty = m.types.add(&[], &[]);
        let (imported, _) = m.add_import_func("env", "host", import_ty);
        m.funcs.get_mut(imported).name = Some("host".into());
        let table = m.tables.add_local(false, 4, None, RefType::FUNCREF);
        let mut ids = Vec::new();
        for (i, name) in ["_ZN4core3fmt5write17h0123456789abcdefE", "b", "c", "d"].iter().enumerate() {
            let mut f = FunctionBuilder::new(&mut m.types, &[], &[]);
            f.name((*name).into());
            // Each calls the host and the function defined before it; the last also takes a
            // reference to the first.
            f.func_body().call(imported);
            if let Some(prev) = ids.last() {
                f.func_body().call(*prev);
            }
            if i == 3 {
                f.func_body().ref_func(ids[0]).drop();
            }
            ids.push(f.finish(vec![], &mut m.funcs));
        }
        m.exports.add("run", ids[1]);
        m.exports.add("last", ids[3]);
        m.elements.add(
            ElementKind::Active { table, offset: ConstExpr::Value(walrus::ir::Value::I32(0)) },
            ElementItems::Functions(vec![ids[2], ids[0]]),
        );
        m.start = Some(ids[3]);
        m.emit_wasm()
    }

    /// The function indices of the name section, in the order it lists them.
    fn named_indices(bytes: &[u8]) -> Vec<u32> {
        let mut out = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(bytes) {
            if let wasmparser::Payload::CustomSection(c) = payload.unwrap() {
                if let wasmparser::KnownCustom::Name(reader) = c.as_known() {
                    for sub in reader {
                        if let wasmparser::Name::Function(map) = sub.unwrap() {
                            out.extend(map.into_iter().map(|n| n.unwrap().index));
                        }
                    }
                }
            }
        }
        out
    }

    fn read(bytes: &[u8]) -> Module {
        Module::from_buffer(bytes).unwrap()
    }

    #[test]
    fn keys_are_paths_without_hashes_whatever_the_mangling() {
        assert_eq!(key("_ZN4core3fmt5write17h0123456789abcdefE"), "core::fmt::write");
        assert_eq!(key("_ZN4core3fmt5write17hffffffffffffffffE"), "core::fmt::write");
        assert_eq!(key("_RNvNtCs1234_4core3fmt5write"), "core::fmt::write");
        assert_eq!(key("_RNvNtCsabcd_4core3fmt5write"), "core::fmt::write");
        assert_eq!(key("proxy_on_context_create"), "proxy_on_context_create");
    }

    #[test]
    fn order_files_skip_comments_and_blank_lines() {
        assert_eq!(parse_order("# made by…\n\na\n  b  \n#c\n"), vec!["a", "b"]);
    }

    #[test]
    fn named_functions_come_first_in_the_files_order_and_mean_the_same() {
        let before = sample();
        let original = read(&before);
        let order = parse_order("c\nnot in the module\n_RNvNtCs5678_4core3fmt5write\nhost\n");
        let (after, placed) = apply(&before, &order, true).unwrap();
        assert_eq!(placed, 2);
        let reordered = read(&after);
        // The two it names first, the others as they were (walrus writes the largest first).
        let rest: Vec<String> = local_order(&original).into_iter().filter(|n| n == "b" || n == "d").collect();
        assert_eq!(rest, ["d", "b"]);
        assert_eq!(local_order(&reordered), ["c", "_ZN4core3fmt5write17h0123456789abcdefE", "d", "b"]);
        assert_eq!(meaning(&reordered), meaning(&original));
        // Names listed by increasing index (as the format wants), and valid: wasmparser's
        // validator checks the whole module.
        let indices = named_indices(&after);
        assert_eq!(indices.len(), 5);
        assert!(indices.windows(2).all(|w| w[0] < w[1]), "{indices:?}");
        wasmparser::Validator::new().validate_all(&after).unwrap();
    }

    #[test]
    fn a_symbol_is_matched_exactly_or_else_by_its_path() {
        let before = sample();
        for (order, placed) in [
            ("_ZN4core3fmt5write17h0123456789abcdefE", 1),
            // Another build's hash: the same function without it.
            ("_ZN4core3fmt5write17hffffffffffffffffE", 1),
            // Another toolchain's v0 mangling of the same path.
            ("_RNvNtCs5678_4core3fmt5write", 1),
            // A hash-like ending on a name that is not mangled is part of the name.
            ("fmt5write17h0123456789abcdefE", 0),
        ] {
            let (after, n) = apply(&before, &parse_order(order), true).unwrap();
            assert_eq!(n, placed, "{order}");
            assert_eq!(local_order(&read(&after))[0] == "_ZN4core3fmt5write17h0123456789abcdefE", placed == 1);
        }
    }

    #[test]
    fn without_an_order_nothing_moves_and_names_go_unless_kept() {
        let before = sample();
        let (kept, placed) = apply(&before, &[], true).unwrap();
        assert_eq!(placed, 0);
        assert_eq!(local_order(&read(&kept)), local_order(&read(&before)));
        assert_eq!(meaning(&read(&kept)), meaning(&read(&before)));
        let (dropped, _) = apply(&before, &parse_order("d\nb"), false).unwrap();
        let m = read(&dropped);
        assert!(m.funcs.iter().all(|f| f.name.is_none()));
        wasmparser::Validator::new().validate_all(&dropped).unwrap();
        // The start function is the one `d` was: it calls the one `c` was, which is now third.
        let start = m.funcs.get(m.start.unwrap());
        let walrus::FunctionKind::Local(l) = &start.kind else { panic!("start is imported") };
        assert_eq!(l.block(l.entry_block()).instrs.len(), 4);
    }
}
