//! Issue 17: the rights core (`app/src/rights/`) is the only code that
//! writes rights: no SQL elsewhere inserts, updates or deletes rows of
//! `grants`, `group_grants` or `group_memberships` (the migrations, the
//! demo seed and the benchmark's generator excepted: fixtures).

fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The statements of `text` that write one of the rights tables.
fn writes(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let squeezed: String = lower.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut found = vec![];
    for table in ["grants", "group_grants", "group_memberships"] {
        for verb in ["insert into ", "update ", "delete from "] {
            let needle = format!("{verb}{table}");
            let mut at = 0;
            while let Some(i) = squeezed[at..].find(&needle) {
                let end = at + i + needle.len();
                // `update grants` but not `update grants_x`.
                let next = squeezed[end..].chars().next();
                if next.is_none_or(|c| !(c.is_alphanumeric() || c == '_')) {
                    found.push(needle.clone());
                }
                at = end;
            }
        }
    }
    found
}

#[test]
fn only_the_rights_core_writes_rights() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = vec![];
    sources(&root.join("app/src"), &mut files);
    sources(&root.join("server/src"), &mut files);
    let allowed = [
        "app/src/rights/",
        "server/src/seed.rs",
        "server/src/generate.rs",
    ];
    let mut faults = vec![];
    let mut in_core = 0;
    for f in &files {
        let rel = f
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let w = writes(&std::fs::read_to_string(f).unwrap());
        if allowed.iter().any(|a| rel.starts_with(a)) {
            if rel.starts_with("app/src/rights/") {
                in_core += w.len();
            }
            continue;
        }
        for s in w {
            faults.push(format!("{rel}: {s}"));
        }
    }
    assert!(
        faults.is_empty(),
        "rights written outside app/src/rights/:\n{}",
        faults.join("\n")
    );
    // The scan sees the core's own statements (it would not, if broken).
    assert!(in_core >= 6, "only {in_core} writes found in the core");
}

#[test]
fn the_scan_sees_a_write_however_it_is_laid_out() {
    assert_eq!(
        writes("sqlx::query(\"UPDATE\n   group_memberships set x = 1\")").len(),
        1
    );
    assert_eq!(writes("insert into grants (a) values (1)").len(), 1);
    assert!(writes("update grants_x set y = 1; select * from grants").is_empty());
}
