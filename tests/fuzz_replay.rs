//! A short, deterministic replay of the fuzz targets (`fuzz/`, run with
//! `make fuzz`) in `make check`: every seed, from the recorded QMP
//! transcripts and XML documents, plus fixed mutations of each (truncations
//! and byte changes from a seeded generator), plus any input a fuzzer once
//! found (`fuzz/regressions/TARGET/`). A panic fails the test.
//!
//! With VIRT_EVENTS_WRITE_FUZZ_CORPUS=1 the seeds are also written to
//! `fuzz/corpus/TARGET/`, where `cargo fuzz` starts from them.

use std::path::{Path, PathBuf};

use common::crate_dir;

mod common;

use virt_events::fuzzing;

fn files_in(dir: &Path, extension: Option<&str>) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && extension.is_none_or(|x| p.extension().is_some_and(|e| e == x)))
        .collect();
    files.sort();
    files
}

/// What QEMU sent in a recorded transcript, as one stream of CRLF lines.
fn transcript_stream(path: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut stream = Vec::new();
    for record in text.lines() {
        let record: serde_json::Value = serde_json::from_str(record).unwrap();
        if record["dir"] == "s2c" {
            stream.extend_from_slice(record["raw"].as_str().unwrap().as_bytes());
            stream.extend_from_slice(b"\r\n");
        }
    }
    stream
}

fn qmp_seeds() -> Vec<Vec<u8>> {
    files_in(&crate_dir().join("tests/data/qmp"), Some("jsonl")).iter().map(|p| transcript_stream(p)).collect()
}

fn xml_seeds() -> Vec<Vec<u8>> {
    files_in(&crate_dir().join("tests/data/xml"), Some("xml")).iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// A small xorshift generator: the same mutations on every run.
struct Mutations(u64);

impl Mutations {
    fn next(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound.max(1) as u64) as usize
    }

    /// `seed`, then truncations of it, then copies with a few bytes changed
    /// to bytes that matter to the parsers.
    fn of(&mut self, seed: &[u8], count: usize) -> Vec<Vec<u8>> {
        const INTERESTING: &[u8] = b"{}[]\":,\\\n\r<>/='&;0 \x00\xff";
        let mut out = vec![seed.to_vec()];
        for _ in 0..count {
            out.push(seed[..self.next(seed.len() + 1)].to_vec());
            let mut changed = seed.to_vec();
            for _ in 0..=self.next(4) {
                if !changed.is_empty() {
                    let at = self.next(changed.len());
                    changed[at] = INTERESTING[self.next(INTERESTING.len())];
                }
            }
            out.push(changed);
        }
        out
    }
}

fn replay(target: &str, run: fn(&[u8]), seeds: Vec<Vec<u8>>) {
    assert!(!seeds.is_empty(), "no seeds for {target}");
    if std::env::var_os("VIRT_EVENTS_WRITE_FUZZ_CORPUS").is_some() {
        let dir = crate_dir().join("fuzz/corpus").join(target);
        std::fs::create_dir_all(&dir).unwrap();
        for (i, seed) in seeds.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i}")), seed).unwrap();
        }
    }
    let mut mutations = Mutations(0x5eed_f00d_cafe_d00d);
    for seed in &seeds {
        for input in mutations.of(seed, 40) {
            run(&input);
        }
    }
    for found in files_in(&crate_dir().join("fuzz/regressions").join(target), None) {
        run(&std::fs::read(found).unwrap());
    }
}

/// The chunking byte in front of each stream: whole reads, byte by byte,
/// and sizes in between.
fn with_read_sizes(streams: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    streams.iter().flat_map(|s| [0u8, 1, 16, 255].map(|size| [&[size][..], s].concat())).collect()
}

#[test]
fn qmp_lines() {
    replay("qmp_lines", fuzzing::qmp_lines, with_read_sizes(qmp_seeds()));
}

#[test]
fn qmp_mapping() {
    replay("qmp_mapping", fuzzing::qmp_mapping, qmp_seeds());
}

/// Both directions of every captured RPC conversation, with the control
/// byte (read size, and which side sent them) in front.
fn rpc_seeds() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for capture in common::RPC_CAPTURES {
        let (to_server, to_client, _) = common::capture_streams(&common::rpc_capture(&format!("{capture}.socat")));
        for size in [0u8, 3, 127] {
            seeds.push([&[size][..], &to_server].concat());
            seeds.push([&[0x80 | size][..], &to_client].concat());
        }
    }
    seeds
}

#[test]
fn rpc_packets() {
    replay("rpc_packets", fuzzing::rpc_packets, rpc_seeds());
}

#[test]
fn xml() {
    replay("xml", fuzzing::xml, xml_seeds());
}
