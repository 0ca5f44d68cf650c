//! The header comparison test: our `include/libvirt/*.h` declare everything
//! real libvirt 9.0's public headers declare (libvirt.h and its parts,
//! virterror.h, libvirt-qemu.h, libvirt-lxc.h), with the same values, layouts
//! and types.
//!
//! Both checks are generated at test time from the installed real files
//! (Debian's `libvirt-dev`: the API description in /usr/share/libvirt/api and
//! the headers in /usr/include/libvirt); nothing of libvirt's is checked in.
//!
//! - `values_and_layouts_match`: one C program, generated from the API
//!   description, prints every enumerator and macro value, what every
//!   function-like macro computes on sample arguments, the `sizeof` of every
//!   typedef, callback type and struct and the `offsetof`/`sizeof` of every
//!   struct member, and names every function. It is built once against our
//!   headers and once against the real ones: both must build (an item only
//!   libvirt declares fails ours) and print the same.
//! - `real_prototypes_redeclare_cleanly`: a C file includes our headers, then
//!   repeats every prototype, typedef and variable declaration of the real
//!   headers in their own text (from the preprocessor): with `-Werror`, any
//!   type that differs is a compile error. Each real struct is also declared
//!   under another tag and its members' types compared with ours.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;

mod common;
use common::{c_compiler, crate_dir};

const REAL_INCLUDE: &str = "/usr/include";
const API_DIR: &str = "/usr/share/libvirt/api";
const API_FILES: &[&str] = &["libvirt-api.xml", "libvirt-qemu-api.xml", "libvirt-lxc-api.xml"];
const INCLUDES: &str = "#include <stddef.h>\n#include <stdio.h>\n#include <string.h>\n\
                        #include <libvirt/libvirt.h>\n#include <libvirt/virterror.h>\n\
                        #include <libvirt/libvirt-qemu.h>\n#include <libvirt/libvirt-lxc.h>\n";

/// Whether real libvirt's development files are here; says why not.
fn real_libvirt_installed() -> bool {
    let header = Path::new(REAL_INCLUDE).join("libvirt/libvirt.h");
    let api = Path::new(API_DIR).join(API_FILES[0]);
    if header.is_file() && api.is_file() {
        return true;
    }
    eprintln!(
        "SKIPPED: {} or {} is missing: the header comparison needs real libvirt's development files \
         (`apt-get install libvirt-dev`, or `sh tests/install-deps.sh` as root)",
        header.display(),
        api.display()
    );
    false
}

fn work_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("header_compare");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn our_include() -> PathBuf {
    crate_dir().join("include")
}

/// The value of an XML attribute in a start tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let re = Regex::new(&format!(r#"\s{name}=(?:'([^']*)'|"([^"]*)")"#)).unwrap();
    re.captures(tag).map(|c| {
        let value = c.get(1).or_else(|| c.get(2)).unwrap().as_str();
        value
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&")
    })
}

/// What the API description declares, by kind.
#[derive(Default)]
struct Api {
    /// Enumerators and macros with a value: name → whether a string.
    values: BTreeMap<String, bool>,
    /// Function-like macros and struct-tag aliases.
    other_macros: Vec<String>,
    /// Typedef name → the struct tag (`_virX`) and member names.
    structs: BTreeMap<String, (String, Vec<String>)>,
    typedefs: Vec<String>,
    functions: Vec<String>,
    variables: Vec<String>,
}

fn read_api() -> Api {
    let mut api = Api::default();
    let element = Regex::new(r"(?s)<(enum|macro|struct|typedef|functype|function|variable)\s[^>]*>").unwrap();
    let field = Regex::new(r"<field\s[^>]*>").unwrap();
    let union = Regex::new(r"(?s)<union>.*?</union>").unwrap();
    for file in API_FILES {
        let text = std::fs::read_to_string(Path::new(API_DIR).join(file)).unwrap();
        let symbols = &text[text.find("<symbols>").expect("a <symbols> section")..];
        for found in element.captures_iter(symbols) {
            let tag = found.get(0).unwrap().as_str();
            let name = attribute(tag, "name").unwrap();
            match &found[1] {
                "enum" => {
                    api.values.insert(name, false);
                }
                "macro" if attribute(tag, "params").is_some() => api.other_macros.push(name),
                "macro" if attribute(tag, "raw").is_some_and(|raw| raw.starts_with("_vir")) => {
                    api.other_macros.push(name)
                }
                "macro" => {
                    api.values.insert(name, attribute(tag, "string").is_some());
                }
                "struct" => {
                    let struct_tag = attribute(tag, "type").unwrap().trim_start_matches("struct ").to_owned();
                    let start = found.get(0).unwrap().end();
                    let body = if tag.ends_with("/>") {
                        ""
                    } else {
                        &symbols[start..start + symbols[start..].find("</struct>").unwrap()]
                    };
                    // Only the struct's own members, not those of a union inside.
                    let outer = union.replace_all(body, "");
                    let members = field.find_iter(&outer).map(|f| attribute(f.as_str(), "name").unwrap()).collect();
                    api.structs.insert(name, (struct_tag, members));
                }
                "typedef" | "functype" => api.typedefs.push(name),
                "function" => api.functions.push(name),
                _ => api.variables.push(name),
            }
        }
    }
    api
}

/// What each function-like macro computes on sample arguments, as C
/// expressions printed as numbers; every one the API description lists must
/// be here.
fn macro_probes(name: &str) -> Option<Vec<String>> {
    let probes: &[&str] = match name {
        "LIBVIR_CHECK_VERSION" => &["LIBVIR_CHECK_VERSION(9, 0, 0)", "LIBVIR_CHECK_VERSION(9, 0, 1)"],
        "VIR_NODEINFO_MAXCPUS" => &["VIR_NODEINFO_MAXCPUS(nodeinfo)"],
        "VIR_CPU_MAPLEN" => &["VIR_CPU_MAPLEN(1)", "VIR_CPU_MAPLEN(8)", "VIR_CPU_MAPLEN(9)"],
        "VIR_USE_CPU" => &["(VIR_USE_CPU(map, 10), map[1])"],
        "VIR_UNUSE_CPU" => &["(VIR_UNUSE_CPU(map, 10), map[1])"],
        "VIR_CPU_USED" => &["!!VIR_CPU_USED(map, 3)", "!!VIR_CPU_USED(map, 4)"],
        "VIR_GET_CPUMAP" => &["VIR_GET_CPUMAP(map, 2, 3) - map"],
        "VIR_COPY_CPUMAP" => &["(VIR_COPY_CPUMAP(map, 2, 1, copy), copy[0] * 256 + copy[1])"],
        "VIR_CPU_USABLE" => &["!!VIR_CPU_USABLE(map, 2, 1, 0)", "!!VIR_CPU_USABLE(map, 2, 1, 1)"],
        // The casts of event callbacks to their class's generic type.
        _ if name.ends_with("_EVENT_CALLBACK") => {
            return Some(vec![format!("(void (*)(void)){name}(callback) == same_callback")])
        }
        // `#define _virBlkioParameter _virTypedParameter` and the like.
        _ if name.starts_with("_vir") => return Some(vec![format!("sizeof(struct {name})")]),
        _ => return None,
    };
    Some(probes.iter().map(|p| (*p).to_owned()).collect())
}

/// The program printing everything of `api`.
fn values_program(api: &Api) -> String {
    let mut main = String::new();
    let mut line = |label: &str, format: &str, expression: &str| {
        main.push_str(&format!("    printf(\"%s {format}\\n\", \"{label}\", {expression});\n"));
    };
    for (name, is_string) in &api.values {
        if *is_string {
            line(name, "\\\"%s\\\"", name);
        } else {
            line(name, "%lld", &format!("(long long)({name})"));
        }
    }
    let mut missing = Vec::new();
    for name in &api.other_macros {
        match macro_probes(name) {
            Some(probes) => {
                for probe in probes {
                    line(&probe.replace('"', "'"), "%lld", &format!("(long long)({probe})"));
                }
            }
            None => missing.push(name.clone()),
        }
    }
    assert!(missing.is_empty(), "function-like macros the test has no probe for: {missing:?}");
    for (name, (tag, members)) in &api.structs {
        if members.is_empty() {
            // An opaque object: the types exist.
            line(&format!("{name} opaque"), "%d", &format!("(int)sizeof((struct {tag} *)0 == ({name} *)0)"));
            continue;
        }
        line(&format!("sizeof({name})"), "%zu", &format!("sizeof({name})"));
        line(&format!("sizeof(struct {tag})"), "%zu", &format!("sizeof(struct {tag})"));
        for member in members {
            line(&format!("offsetof({name}, {member})"), "%zu", &format!("offsetof({name}, {member})"));
            line(&format!("sizeof({name}.{member})"), "%zu", &format!("sizeof(((({name} *)0)->{member}))"));
        }
    }
    for name in &api.typedefs {
        line(&format!("sizeof({name})"), "%zu", &format!("sizeof({name})"));
    }
    for name in api.functions.iter().chain(&api.variables) {
        line(name, "%zu", &format!("sizeof(&{name})"));
    }
    format!(
        "#define VIR_ENUM_SENTINELS\n{INCLUDES}\n\
         static void callback(void) {{}}\n\n\
         int main(void)\n{{\n\
         \x20   virNodeInfo nodeinfo = {{ .nodes = 2, .sockets = 3, .cores = 5, .threads = 7 }};\n\
         \x20   unsigned char map[8] = {{ 0x08, 0x04, 0x21, 0x00, 0x00, 0xff }};\n\
         \x20   unsigned char copy[2] = {{ 0, 0 }};\n\
         \x20   void (*volatile same_callback)(void) = callback;\n\
         \x20   (void)nodeinfo; (void)map; (void)copy; (void)same_callback;\n\
         {main}    return 0;\n}}\n"
    )
}

/// Builds `source` against `include` with -Werror; the compiler's complaint
/// on failure.
fn build(source: &Path, include: &Path, output: &Path, link: bool) -> Result<(), String> {
    let mut cmd = Command::new(c_compiler());
    cmd.args([
        "-std=gnu11",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-Wno-unused-function",
        "-Wno-deprecated-declarations",
        "-fmax-errors=0",
    ]);
    cmd.arg("-I").arg(include);
    if !link {
        cmd.arg("-c");
    }
    let out = cmd.arg("-o").arg(output).arg(source).output().unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn run_values(source: &Path, include: &Path, tag: &str) -> Vec<String> {
    let exe = work_dir().join(format!("values_{tag}"));
    if let Err(errors) = build(source, include, &exe, true) {
        let undeclared: Vec<&str> = errors.lines().filter(|l| l.contains("error:")).collect();
        panic!(
            "{} does not build against {} ({} errors), first ones:\n{}",
            source.display(),
            include.display(),
            undeclared.len(),
            undeclared.iter().take(60).copied().collect::<Vec<_>>().join("\n")
        );
    }
    let out = Command::new(&exe).output().unwrap();
    assert!(out.status.success(), "{} failed", exe.display());
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect()
}

#[test]
fn values_and_layouts_match() {
    if !real_libvirt_installed() {
        return;
    }
    let api = read_api();
    assert!(api.functions.len() >= 526, "too few functions read: {}", api.functions.len());
    assert!(api.values.len() > 1200, "too few values read: {}", api.values.len());
    assert!(api.structs.len() >= 47, "too few structs read: {}", api.structs.len());
    let source = work_dir().join("values.c");
    std::fs::write(&source, values_program(&api)).unwrap();
    let real = run_values(&source, Path::new(REAL_INCLUDE), "real");
    let ours = run_values(&source, &our_include(), "ours");
    assert_eq!(real.len(), ours.len());
    let differing: Vec<String> =
        real.iter().zip(&ours).filter(|(r, o)| r != o).map(|(r, o)| format!("libvirt: {r}\n   ours: {o}")).collect();
    assert!(differing.is_empty(), "{} lines differ:\n{}", differing.len(), differing.join("\n"));
    // Without VIR_ENUM_SENTINELS, the same `*_LAST` names are visible (the
    // sentinels are hidden, an enumerator that only ends in _LAST is not).
    let visible_last = |include: &Path| {
        let source = work_dir().join("no_sentinels.c");
        std::fs::write(&source, INCLUDES).unwrap();
        let out =
            Command::new(c_compiler()).args(["-std=gnu11", "-E", "-I"]).arg(include).arg(&source).output().unwrap();
        assert!(out.status.success(), "preprocessing against {} failed", include.display());
        let last = Regex::new(r"\bVIR_\w+_LAST\b").unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        last.find_iter(&text).map(|m| m.as_str().to_owned()).collect::<std::collections::BTreeSet<_>>()
    };
    let real_last = visible_last(Path::new(REAL_INCLUDE));
    assert!(real_last.contains("VIR_NETWORK_UPDATE_COMMAND_ADD_LAST"), "{real_last:?}");
    assert_eq!(visible_last(&our_include()), real_last, "*_LAST names visible without VIR_ENUM_SENTINELS");
    // Spot checks that the program saw what it must.
    for expected in [
        "VIR_DOMAIN_EVENT_ID_LAST 27",
        "VIR_NODE_SUSPEND_TARGET_MEM 0",
        "VIR_DOMAIN_BLOCK_IOTUNE_TOTAL_BYTES_SEC \"total_bytes_sec\"",
        "sizeof(virNodeInfo) 64",
        "offsetof(virError, net) 72",
    ] {
        assert!(real.iter().any(|l| l == expected), "{expected:?} was not printed");
    }
}

/// The declarations of the real headers, as the preprocessor gives them:
/// `(prototypes and typedefs without a body, struct definitions)`.
fn real_declarations() -> (Vec<String>, Vec<String>) {
    let source = work_dir().join("real_headers.c");
    std::fs::write(&source, format!("#define VIR_ENUM_SENTINELS\n{INCLUDES}")).unwrap();
    let out = Command::new(c_compiler()).args(["-std=gnu11", "-E"]).arg(&source).output().unwrap();
    assert!(out.status.success(), "preprocessing the real headers failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    // Only what comes from libvirt's own headers, by the line markers.
    let mut ours = String::new();
    let mut from_libvirt = false;
    for line in text.lines() {
        if let Some(marker) = line.strip_prefix("# ") {
            from_libvirt = marker.contains("/include/libvirt/");
            continue;
        }
        if from_libvirt {
            ours.push_str(line);
            ours.push('\n');
        }
    }
    let mut declarations = Vec::new();
    let mut structs = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for c in ours.chars() {
        current.push(c);
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ';' if depth == 0 => {
                let declaration = current.split_whitespace().collect::<Vec<_>>().join(" ");
                current.clear();
                if !declaration.contains('{') {
                    declarations.push(declaration);
                } else if declaration.starts_with("struct ") {
                    structs.push(declaration);
                }
            }
            _ => {}
        }
    }
    (declarations, structs)
}

#[test]
fn real_prototypes_redeclare_cleanly() {
    if !real_libvirt_installed() {
        return;
    }
    let api = read_api();
    let (declarations, structs) = real_declarations();
    let prototypes = declarations.iter().filter(|d| d.contains('(') && !d.starts_with("typedef")).count();
    assert!(prototypes >= 526, "too few prototypes found in the real headers: {prototypes}");
    let mut source = format!("{INCLUDES}\n/* The real headers' declarations, repeated. */\n");
    for declaration in &declarations {
        source.push_str(declaration);
        source.push('\n');
    }
    // Each real struct under another tag, its members' types compared with
    // ours (the anonymous union of _virTypedParameter is compared by layout).
    source.push_str("\n/* The real structs, renamed, member types compared. */\n");
    let tag = Regex::new(r"^struct (_vir\w+)").unwrap();
    let mut compared = 0;
    for definition in &structs {
        let name = &tag.captures(definition).expect("a struct tag")[1];
        source.push_str(&tag.replace(definition, "struct real$1"));
        source.push('\n');
        let Some((typedef, (_, members))) = api.structs.iter().find(|(_, (t, _))| t == name) else {
            panic!("struct {name} of the real headers is not in the API description");
        };
        for member in members.iter().filter(|m| *m != "value" || name != "_virTypedParameter") {
            source.push_str(&format!(
                "_Static_assert(__builtin_types_compatible_p(__typeof__((({typedef} *)0)->{member}), \
                 __typeof__(((struct real{name} *)0)->{member})), \"{typedef}.{member}\");\n"
            ));
            compared += 1;
        }
    }
    assert!(compared > 100, "too few struct members compared: {compared}");
    let file = work_dir().join("redeclare.c");
    std::fs::write(&file, source).unwrap();
    if let Err(errors) = build(&file, &our_include(), &work_dir().join("redeclare.o"), false) {
        let lines: Vec<&str> = errors.lines().filter(|l| l.contains("error")).collect();
        panic!(
            "our headers conflict with real libvirt's declarations ({} errors, in {}):\n{}",
            lines.len(),
            file.display(),
            lines.iter().take(60).copied().collect::<Vec<_>>().join("\n")
        );
    }
}
