//! Deterministic byte mutations of realistic inputs, for parser tests that run in `make test`
//! beside the libFuzzer targets (`make fuzz`): flips, truncations, duplicated and deleted spans,
//! and interesting values (huge numbers, nulls, deep nesting) spliced in.

/// `count` mutations of `seeds` (each a realistic input), the same for the same arguments.
pub fn mutations(seeds: &[&[u8]], count: usize) -> Vec<Vec<u8>> {
    const SPLICES: &[&[u8]] = &[
        b"null",
        b"-1",
        b"18446744073709551616",
        b"9007199254740993",
        b"1e400",
        b"\"\"",
        b"[]",
        b"{}",
        b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
        b"\"\\u0000\"",
        b"true",
        b"\"%252F\"",
        b"\xff\xfe",
    ];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let seed = seeds[i % seeds.len().max(1)];
        let mut v = seed.to_vec();
        for _ in 0..1 + (next() % 4) {
            let len = v.len().max(1);
            let at = (next() as usize) % len;
            match next() % 6 {
                0 if !v.is_empty() => {
                    let i = at.min(v.len() - 1);
                    let bit = 1 << (next() % 8);
                    if let Some(b) = v.get_mut(i) {
                        *b ^= bit;
                    }
                }
                1 => v.truncate(at),
                2 => {
                    let s = SPLICES[(next() as usize) % SPLICES.len()];
                    let at = at.min(v.len());
                    v.splice(at..at, s.iter().copied());
                }
                3 if at < v.len() => {
                    let end = (at + 1 + (next() as usize) % 16).min(v.len());
                    let span: Vec<u8> = v[at..end].to_vec();
                    v.splice(at..at, span);
                }
                4 if at < v.len() => {
                    let end = (at + 1 + (next() as usize) % 16).min(v.len());
                    v.drain(at..end);
                }
                _ => {
                    let s = SPLICES[(next() as usize) % SPLICES.len()];
                    if let Some(p) = v.iter().position(|b| *b == b':') {
                        v.splice(p + 1..p + 1, s.iter().copied());
                    }
                }
            }
        }
        out.push(v);
    }
    out
}
