//! Conversion cases as data: `cases/NAME.md` must convert to `cases/NAME.xml` (storage), and
//! `cases/NAME.in.xml` (storage) to `cases/NAME.out.md`, with the loss report in
//! `cases/NAME.losses`. Each Markdown case also round-trips:
//! after one normalisation pass (md → storage → md), converting again changes nothing; and each
//! storage case is a fixed point of export → publish → export.
//! `BLESS=1 cargo test -p cfl-markdown --test cases` rewrites the expected files (review the diff).

use std::path::{Path, PathBuf};

use cfl_markdown::{to_markdown, to_markdown_reported, to_storage, Links};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases")
}

fn check(expected_path: &Path, actual: &str, failures: &mut Vec<String>) {
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(expected_path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(expected_path)
        .unwrap_or_else(|_| panic!("missing {}", expected_path.display()));
    if expected != actual {
        failures.push(format!(
            "{}:\n--- expected\n{expected}\n--- actual\n{actual}",
            expected_path.display()
        ));
    }
}

#[test]
fn markdown_to_storage_cases() {
    let mut failures = Vec::new();
    let mut n = 0;
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if let Some(stem) = name.strip_suffix(".md").filter(|s| !s.ends_with(".out")) {
            n += 1;
            let md = std::fs::read_to_string(&path).unwrap();
            let s = to_storage(&md);
            check(
                &dir().join(format!("{stem}.xml")),
                &(s.body.clone() + "\n"),
                &mut failures,
            );
            // Stable after one normalisation pass.
            let md2 = to_markdown(&s.body, &Links::default());
            let s2 = to_storage(&md2);
            let md3 = to_markdown(&s2.body, &Links::default());
            if md2 != md3 || s.body != s2.body {
                failures.push(format!(
                    "{name} does not round-trip:\n--- md2\n{md2}\n--- md3\n{md3}\n--- s1\n{}\n--- s2\n{}",
                    s.body, s2.body
                ));
            }
        }
    }
    assert!(n >= 5, "only {n} cases found");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn storage_to_markdown_cases() {
    let mut failures = Vec::new();
    let mut n = 0;
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if let Some(stem) = name.strip_suffix(".in.xml") {
            n += 1;
            let xml = std::fs::read_to_string(&path).unwrap();
            let (md, losses) = to_markdown_reported(&xml, &Links::default());
            assert_eq!(md, to_markdown(&xml, &Links::default()));
            check(&dir().join(format!("{stem}.out.md")), &md, &mut failures);
            let report: String = losses.iter().map(|l| format!("{l}\n")).collect();
            check(
                &dir().join(format!("{stem}.losses")),
                &report,
                &mut failures,
            );
            // Export → publish → export is a fixed point: the same Markdown, byte for byte.
            let again = to_markdown(&to_storage(&md).body, &Links::default());
            if again != md {
                failures.push(format!(
                    "{name}: export → publish → export changed the Markdown:\n--- first\n{md}\n--- again\n{again}"
                ));
            }
        }
    }
    assert!(n >= 3, "only {n} cases found");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
