//! The repository explains itself: no file points readers at documents that a clone does not
//! have (the team's notes folder beside the checkout, which users of Coprod never see).

use std::path::{Path, PathBuf};

/// Folders that are built, downloaded or version control's own, not the repository's text.
const SKIPPED: [&str; 4] = [".git", "target", "node_modules", "data"];

fn files_under(dir: &Path, found: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path.is_dir() {
            if !SKIPPED.contains(&name) {
                files_under(&path, found);
            }
        } else {
            found.push(path);
        }
    }
}

#[test]
fn no_file_of_the_repository_points_to_documents_outside_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    files_under(root, &mut files);
    assert!(files.len() > 50, "the walk found the repository's files");
    // Spelt in two pieces so that this file does not find itself.
    let needle = ["shared", "/"].concat();
    let offenders: Vec<String> = files
        .iter()
        .filter_map(|path| {
            let text = std::fs::read(path).ok()?;
            let text = String::from_utf8_lossy(&text);
            text.lines()
                .position(|line| line.contains(&needle))
                .map(|line| {
                    format!(
                        "{}:{}",
                        path.strip_prefix(root).unwrap_or(path).display(),
                        line + 1
                    )
                })
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "these files cite documents a clone does not have: {offenders:?}"
    );
}
