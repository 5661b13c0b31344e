//! Verifies the journal's hash chain: every event's hash covers the
//! previous hash and its own content, and the sequence has no gap.
use sqlx::PgPool;

#[derive(Debug, PartialEq, Eq)]
pub enum ChainBreak {
    /// An event is missing before this sequence number.
    Gap { expected: i64, found: i64 },
    /// This event does not point at the previous event's hash.
    Link { seq: i64 },
    /// This event's content no longer matches its hash.
    Content { seq: i64 },
}

/// Walks the chain in order; returns the number of events checked, or the
/// first break.
pub async fn check(pool: &PgPool) -> Result<Result<i64, ChainBreak>, sqlx::Error> {
    use futures_util::TryStreamExt;
    let mut rows = sqlx::query!(
        r#"select seq, prev_hash, hash,
                  digest(prev_hash || convert_to(audit_event_content(e), 'UTF8'), 'sha256') as "recomputed!"
           from audit_events e order by seq"#,
    )
    .fetch(pool)
    .map_ok(|r| (r.seq, r.prev_hash, r.hash, r.recomputed));
    let mut expected = 1;
    let mut previous: Vec<u8> = vec![];
    while let Some((seq, prev_hash, hash, recomputed)) = rows.try_next().await? {
        if seq != expected {
            return Ok(Err(ChainBreak::Gap {
                expected,
                found: seq,
            }));
        }
        if prev_hash != previous {
            return Ok(Err(ChainBreak::Link { seq }));
        }
        if recomputed != hash {
            return Ok(Err(ChainBreak::Content { seq }));
        }
        previous = hash;
        expected += 1;
    }
    Ok(Ok(expected - 1))
}
