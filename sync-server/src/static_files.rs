//! Static files: the demo (`--static-dir`) at `/` and the npm package (`--pkg-dir`) under
//! `/pkg/`, with a built-in placeholder page while the demo is not built.

use std::path::{Component, Path, PathBuf};

use bytes::Bytes;

/// Shown at `/` when the demo's `index.html` is missing.
pub const PLACEHOLDER_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>Weft server</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}code{background:#eee;padding:0 .2em}</style>
</head>
<body>
<h1>Weft server is running</h1>
<p>The demo editor has not been built yet. Build it with <code>npm run build -w web-demo</code>
(or start everything with <code>npm start</code>) and reload this page.</p>
<p>WebSocket endpoint: <code>/ws</code> &middot; health: <a href="/healthz">/healthz</a> &middot;
metrics: <a href="/metrics">/metrics</a></p>
</body>
</html>
"#;

/// A file found on disk.
#[derive(Debug)]
pub struct StaticFile {
    /// The file's contents.
    pub body: Bytes,
    /// Its `Content-Type`.
    pub content_type: &'static str,
}

/// Maps a URL path (below the mount point, without query) to a path inside `root`, refusing
/// anything that could escape it: `..`, absolute or hidden components, backslashes, NUL bytes,
/// bad percent-escapes. An empty path or one ending in `/` means `index.html`.
pub fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(url_path)?;
    let mut path = root.to_path_buf();
    for segment in decoded.split('/') {
        if segment.is_empty() {
            continue;
        }
        if segment.starts_with('.') || segment.contains(['\\', '\0', ':']) {
            return None;
        }
        match Path::new(segment).components().next() {
            Some(Component::Normal(_)) => path.push(segment),
            _ => return None,
        }
    }
    if decoded.is_empty() || decoded.ends_with('/') {
        path.push("index.html");
    }
    Some(path)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The `Content-Type` for a file name.
pub fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" | "cjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "wasm" => "application/wasm",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "ico" => "image/x-icon",
        "webp" => "image/webp",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "txt" | "md" => "text/plain; charset=utf-8",
        "ts" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Reads the file `url_path` names below `root`; `None` when it is missing or refused. A
/// directory is served through its `index.html`.
pub async fn read(root: &Path, url_path: &str) -> Option<StaticFile> {
    let mut path = resolve(root, url_path)?;
    if tokio::fs::metadata(&path).await.ok()?.is_dir() {
        path.push("index.html");
    }
    let body = tokio::fs::read(&path).await.ok()?;
    Some(StaticFile {
        body: Bytes::from(body),
        content_type: content_type(&path),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_inside_root_only() {
        let root = Path::new("/srv/demo");
        assert_eq!(resolve(root, ""), Some(root.join("index.html")));
        assert_eq!(resolve(root, "/"), Some(root.join("index.html")));
        assert_eq!(
            resolve(root, "/assets/app.js"),
            Some(root.join("assets").join("app.js"))
        );
        assert_eq!(resolve(root, "/a%20b.txt"), Some(root.join("a b.txt")));
        assert_eq!(
            resolve(root, "/sub/"),
            Some(root.join("sub").join("index.html"))
        );
        for bad in [
            "/../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/a/../../x",
            "/.env",
            "/a\\b",
            "/%00",
            "/%zz",
            "/%e2%28",
            "/c:/x",
        ] {
            assert_eq!(resolve(root, bad), None, "{bad}");
        }
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type(Path::new("x.wasm")), "application/wasm");
        assert_eq!(
            content_type(Path::new("x.JS")),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("x")), "application/octet-stream");
    }

    #[test]
    fn placeholder_has_empty_favicon() {
        assert!(PLACEHOLDER_PAGE.contains(r#"<link rel="icon" href="data:,">"#));
    }
}
