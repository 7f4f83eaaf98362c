//! The pure parts of Coprod, measured against the cheapest possible pass over the same data in the
//! same run: the rubric engine, the stream digest, and event (de)serialisation.
//!
//! Run: `cargo bench -p coprod-domain`. The performance target: a 10,000-event project assessed in under
//! 5 ms on one core.

use coprod_domain::assessment::{assess, Cutoff};
use coprod_domain::digest::{chain_next, Digest, StoredEntry};
use coprod_domain::testkit::sample::{self, project, stored};
use coprod_domain::*;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn rubric(c: &mut Criterion) {
    let published = rubric::latest();
    let mut group = c.benchmark_group("rubric");
    for size in [100, 1_000, 10_000] {
        let events = project(size);
        group.throughput(Throughput::Elements(size as u64));
        // Baseline: touching every event once, the least any assessment must do.
        group.bench_with_input(
            BenchmarkId::new("baseline_one_pass", size),
            &events,
            |b, events| {
                b.iter(|| {
                    black_box(
                        events
                            .iter()
                            .map(|e| e.sequence ^ e.event.occurred_on().to_string().len() as u64)
                            .sum::<u64>(),
                    )
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("assess", size), &events, |b, events| {
            b.iter(|| black_box(assess(events, published, Cutoff::Latest).expect("assessable")))
        });
    }
    group.finish();
}

fn digest(c: &mut Criterion) {
    let entries = stored(&project(10_000));
    let canonical: Vec<String> = entries.iter().map(StoredEntry::canonical_json).collect();
    let mut group = c.benchmark_group("digest_10000");
    group.throughput(Throughput::Elements(entries.len() as u64));
    // Baseline: SHA-256 over the already-canonical bytes alone.
    group.bench_function("baseline_sha256_only", |b| {
        b.iter(|| {
            let mut head = Digest::ZERO;
            for text in &canonical {
                let mut bytes = head.0.to_vec();
                bytes.extend_from_slice(text.as_bytes());
                head = Digest::of_bytes(&bytes);
            }
            black_box(head)
        })
    });
    group.bench_function("chain", |b| {
        b.iter(|| {
            let mut head = Digest::ZERO;
            for entry in &entries {
                head = chain_next(&head, entry);
            }
            black_box(head)
        })
    });
    group.finish();
}

fn serialisation(c: &mut Criterion) {
    let events: Vec<ProjectEvent> = project(10_000).into_iter().map(|e| e.event).collect();
    let texts: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string(e).expect("serialises"))
        .collect();
    let mut group = c.benchmark_group("serde_10000");
    group.throughput(Throughput::Elements(events.len() as u64));
    // Baseline: parsing the same JSON into an untyped value.
    group.bench_function("baseline_parse_untyped", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(serde_json::from_str::<serde_json::Value>(t).expect("json"));
            }
        })
    });
    group.bench_function("deserialise", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(serde_json::from_str::<ProjectEvent>(t).expect("an event"));
            }
        })
    });
    group.bench_function("serialise", |b| {
        b.iter(|| {
            for e in &events {
                black_box(serde_json::to_string(e).expect("serialises"));
            }
        })
    });
    group.finish();
}

/// Decoding stored entries for the read side, from the text the database returns: straight into
/// typed entries (`from_text`, what the store does) against going through JSON values first
/// (`from_stored`, what it did before), and against parsing the same text untyped.
fn decoding(c: &mut Criterion) {
    let entries = sample::chained(stored(&project(10_000)));
    let texts: Vec<(u64, String, String)> = entries
        .iter()
        .map(|entry| {
            let metadata = serde_json::to_string(&entry.metadata).expect("serialises");
            (entry.sequence, entry.payload.to_string(), metadata)
        })
        .collect();
    let mut group = c.benchmark_group("decode_10000");
    group.throughput(Throughput::Elements(entries.len() as u64));
    group.bench_function("baseline_parse_untyped", |b| {
        b.iter(|| {
            for (_, payload, metadata) in &texts {
                black_box(serde_json::from_str::<serde_json::Value>(payload).expect("json"));
                black_box(serde_json::from_str::<serde_json::Value>(metadata).expect("json"));
            }
        })
    });
    group.bench_function("from_text", |b| {
        b.iter(|| {
            for (sequence, payload, metadata) in &texts {
                black_box(RecordedEvent::from_text(*sequence, payload, metadata).expect("decodes"));
            }
        })
    });
    group.bench_function("through_json_values", |b| {
        b.iter(|| {
            for (sequence, payload, metadata) in &texts {
                let entry = StoredEntry {
                    aggregate_id: String::new(),
                    sequence: *sequence,
                    event_type: String::new(),
                    event_version: String::new(),
                    payload: serde_json::from_str(payload).expect("json"),
                    metadata: serde_json::from_str(metadata).expect("json"),
                };
                black_box(RecordedEvent::from_stored(&entry).expect("decodes"));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, rubric, digest, serialisation, decoding);
criterion_main!(benches);
