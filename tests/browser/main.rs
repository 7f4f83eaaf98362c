//! Browser tests of the web pages in headless Chromium (Debian's `chromium`), driven by
//! playwright-core from npm, with axe-core checking every page (`pages.test.mjs`).
//!
//! This test starts a server over a fresh SQLite database, seeds a realistic project through the
//! HTTP API (`seed.rs`), and a second server with the demo (`coprod serve --demo`'s four
//! projects), then runs `node --test pages.test.mjs` against them. Screenshots (and a PDF
//! of the printed report) are written to `target/browser-screenshots/`.
//!
//! It needs Chromium, Node.js and `npm ci` in `tests/browser`, so it is ignored by a plain
//! `cargo test`; run it with `cargo test --test browser -- --ignored` (as `.ci/run` does). Without
//! those tools it says loudly that it was skipped — unless `CI=true`, where that is a failure.
//! `COPROD_UPDATE_SCREENSHOT=1` also copies the project page's screenshot to
//! `docs/project-page.png`, and the portfolio page's to `docs/portfolio-page.png`, for the README,
//! and every page at 1280 and 320 pixels to `docs/screenshots/`, shown by `docs/pages.md`.

#[path = "../kit/mod.rs"]
mod kit;
mod seed;
mod site;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use coprod::clock::Clock;
use coprod::demo;
use coprod::store::AccessRole;
use coprod::AppState;
use serde_json::json;
use site::Site;

/// The demo, loaded into a database of its own on its stories' days and served as
/// `coprod serve --demo` serves it; with a token per role (as JSON) and its projects' ids.
async fn demo_server(db: &kit::TestDb) -> (kit::Server, String, String) {
    let loading = db.store_with_clock(Clock::fixed(chrono::Utc::now())).await;
    demo::prepare(&loading).await.expect("the demo loads");
    let store = db.connect().await;
    let sign_ins = demo::sign_in_tokens(&store).await.expect("sign-in tokens");
    let token = |role: AccessRole| {
        let found = sign_ins.iter().find(|s| s.role == role);
        found.expect("a token per role").token.clone()
    };
    let tokens = json!({"panel": token(AccessRole::Panel), "admin": token(AccessRole::Admin)});
    let projects: Vec<String> = demo::stories()
        .expect("the stories")
        .iter()
        .map(|story| story.project_id.to_string())
        .collect();
    let server = kit::Server::start_app(AppState::new(store).as_demo())
        .await
        .expect("serve the demo");
    (server, tokens.to_string(), projects.join(","))
}

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Chromium's path, or why the browser tests cannot run here.
fn tools() -> Result<PathBuf, String> {
    let mut missing = Vec::new();
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .into_iter()
        .chain(["/usr/bin/chromium", "/usr/bin/chromium-browser"].map(PathBuf::from))
        .find(|path| path.exists());
    if chromium.is_none() {
        missing.push("Chromium (Debian: apt-get install chromium)");
    }
    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|out| out.status.success()) {
        missing.push("Node.js (Debian: apt-get install nodejs npm)");
    }
    let modules = browser_dir().join("node_modules");
    if !modules.join("playwright-core").exists() || !modules.join("axe-core").exists() {
        missing.push("playwright-core and axe-core (cd tests/browser && npm ci)");
    }
    match chromium {
        Some(path) if missing.is_empty() => Ok(path),
        _ => Err(missing.join("; ")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and Node.js: cargo test --test browser -- --ignored (as .ci/run does)"]
async fn pages_in_chromium() {
    let chromium = match tools() {
        Ok(path) => path,
        Err(missing) => {
            let message = format!("BROWSER TESTS SKIPPED: missing {missing}");
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{message} (CI=true: the browser tests must run)");
            }
            eprintln!("\n{}\n{message}\n{}\n", "!".repeat(72), "!".repeat(72));
            return;
        }
    };
    let site = Site::start(kit::sqlite().into()).await;
    site.seed_portfolio().await;
    let invitation = site.invite("carer-02").await;
    let demo_db = kit::sqlite();
    let (demo, demo_tokens, demo_projects) = demo_server(&demo_db).await;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let screenshots = target.join("browser-screenshots");
    std::fs::create_dir_all(&screenshots).expect("screenshot directory");
    let mut node = Command::new("node");
    node.current_dir(browser_dir())
        .args(["--test", "--test-reporter=spec", "pages.test.mjs"])
        .env("COPROD_BASE_URL", &site.base)
        .env("COPROD_TOKENS", site.tokens.as_json().to_string())
        .env("COPROD_PROJECT", &site.seeded.project_id)
        .env("COPROD_OTHER_PROJECT", &site.seeded.other_project_id)
        .env("COPROD_WITHDRAWN", site.seeded.withdrawn.to_string())
        .env("COPROD_EARLY_DATE", &site.seeded.early)
        .env("COPROD_LATE_DATE", &site.seeded.late)
        .env("COPROD_SCREENSHOTS", &screenshots)
        .env("COPROD_INVITATION", &invitation)
        .env("COPROD_DEMO_BASE_URL", demo.base())
        .env("COPROD_DEMO_TOKENS", &demo_tokens)
        .env("COPROD_DEMO_PROJECTS", &demo_projects)
        .env("CHROMIUM", &chromium);
    if std::env::var("COPROD_UPDATE_SCREENSHOT").is_ok_and(|v| v == "1") {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/project-page.png");
        node.env("COPROD_DOCS_SCREENSHOT", docs);
        let portfolio = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/portfolio-page.png");
        node.env("COPROD_DOCS_PORTFOLIO_SCREENSHOT", portfolio);
    }
    let status = tokio::task::spawn_blocking(move || node.status())
        .await
        .expect("node task")
        .expect("run node");
    site.stop().await;
    if let Err(why) = demo.stop(Duration::from_secs(10)).await {
        eprintln!("the demo server: {why}");
    }
    println!("screenshots: {}", screenshots.display());
    assert!(
        status.success(),
        "the browser tests failed ({status}); screenshots in {}",
        screenshots.display()
    );
    if std::env::var("COPROD_UPDATE_SCREENSHOT").is_ok_and(|v| v == "1") {
        write_gallery(&screenshots);
    }
}

/// Every page of the service, with the screenshots the tests took of it at 1280 and at 320
/// pixels wide (400% zoom).
const GALLERY: [(&str, &str, &str); 14] = [
    ("Sign in", "01-sign-in", "32-zoom-sign-in"),
    ("Projects", "03-projects", "19-zoom-projects"),
    ("A project", "04-project", "20-zoom-project"),
    ("A project's trail", "05-trail", "21-zoom-trail"),
    ("A project's report", "09-report", "22-zoom-report"),
    ("Comparing two dates", "07-compare", "23-zoom-compare"),
    ("Portfolio", "24-portfolio", "28-zoom-portfolio"),
    (
        "The projects behind a portfolio figure",
        "25-portfolio-projects",
        "29-zoom-portfolio-projects",
    ),
    (
        "Accessibility statement",
        "16-accessibility-statement",
        "30-zoom-accessibility-statement",
    ),
    (
        "A project that is not there",
        "13-unknown-project",
        "31-zoom-unknown-project",
    ),
    (
        "Recording something: the forms",
        "53-record-index-1280",
        "53-record-index-320",
    ),
    (
        "A form: an activity, ticking who came",
        "50-form-activity-1280",
        "50-form-activity-320",
    ),
    (
        "A form sent with fields missing",
        "51-form-errors-1280",
        "51-form-errors-320",
    ),
    (
        "The receipt of an entry",
        "52-receipt-1280",
        "52-receipt-320",
    ),
];

/// Copies the gallery's screenshots to `docs/screenshots/` and writes `docs/pages.md`, which
/// shows them (`COPROD_UPDATE_SCREENSHOT=1`).
fn write_gallery(screenshots: &Path) {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let gallery = docs.join("screenshots");
    std::fs::create_dir_all(&gallery).expect("docs/screenshots");
    let mut page = String::from(
        "# The pages\n\n\
         Every page of Coprod's web service as the browser tests last saw it, at 1280 pixels wide \
         and at 320 pixels wide (what a reader at 400% zoom sees). The tests write these with \
         `COPROD_UPDATE_SCREENSHOT=1 cargo test --test browser -- --ignored`; the pages show a \
         made-up project of a made-up council.\n",
    );
    for (title, wide, narrow) in GALLERY {
        for name in [wide, narrow] {
            let file = format!("{name}.png");
            std::fs::copy(screenshots.join(&file), gallery.join(&file))
                .unwrap_or_else(|e| panic!("copy the screenshot {file}: {e}"));
        }
        page.push_str(&format!(
            "\n## {title}\n\n\
             [At 1280 pixels](screenshots/{wide}.png) · [at 320 pixels](screenshots/{narrow}.png)\n\n\
             <img src=\"screenshots/{wide}.png\" alt=\"{title}, 1280 pixels wide\" width=\"640\"> \
             <img src=\"screenshots/{narrow}.png\" alt=\"{title}, 320 pixels wide\" width=\"160\">\n"
        ));
    }
    std::fs::write(docs.join("pages.md"), page).expect("docs/pages.md");
}
