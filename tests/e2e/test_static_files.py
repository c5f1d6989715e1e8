"""The dashboard's static files (`/dashboard/...` from `--public-directory`): served with the right
MIME types, no directory listings, and nothing outside the folder, however the path is spelled
(`..`, `%2e%2e`, `%2F`, absolute paths, backslashes, NUL bytes, symlinks that lead out).

The session server serves a fixture folder built by `support.make_public_tree`, with a
`secret.txt` beside it that no request may ever read."""

from __future__ import annotations

import pytest
import requests

from support import REPO_ROOT, SECRET_TEXT, assert_json_error, raw_exchange, split_response


def get_raw(server, target: str) -> tuple[int, dict, bytes]:
    """Sends the request target exactly as written (no client-side normalisation of `..`)."""
    raw = raw_exchange(server.port, f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    return split_response(raw)


@pytest.mark.parametrize(
    "path,media",
    [
        ("/dashboard/index.html", "text/html"),
        ("/dashboard/assets/app.js", "text/javascript"),
        ("/dashboard/assets/style.css", "text/css"),
        ("/dashboard/assets/data.json", "application/json"),
        ("/dashboard/assets/logo.svg", "image/svg+xml"),
        ("/dashboard/assets/pixel.png", "image/png"),
        ("/dashboard/assets/notes.txt", "text/plain"),
    ],
)
def test_static_files_are_served_with_their_mime_type(http, base_url, public_tree, path, media):
    r = http.get(base_url + path)
    assert r.status_code == 200, path
    assert r.headers["Content-Type"].split(";")[0].strip() == media
    relative = path.removeprefix("/dashboard/")
    assert r.content == (public_tree / relative).read_bytes()
    assert r.headers.get("X-Content-Type-Options") == "nosniff"


def test_static_files_have_etags_and_answer_304(http, base_url):
    first = http.get(base_url + "/dashboard/assets/app.js")
    etag = first.headers["ETag"]
    again = http.get(base_url + "/dashboard/assets/app.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""


def test_a_folder_with_an_index_serves_its_index(http, base_url, public_tree):
    r = http.get(base_url + "/dashboard/docs/")
    assert r.status_code == 200
    assert r.content == (public_tree / "docs" / "index.html").read_bytes()
    root = http.get(base_url + "/dashboard/")
    assert root.status_code == 200
    assert root.content == (public_tree / "index.html").read_bytes()


@pytest.mark.parametrize("path", ["/dashboard/empty-dir/", "/dashboard/empty-dir", "/dashboard/assets/"])
def test_folders_without_an_index_are_not_listed(http, base_url, path):
    r = http.get(base_url + path, allow_redirects=True)
    assert r.status_code == 404, (path, r.status_code)
    assert b"file-in-dir.txt" not in r.content and b"app.js" not in r.content
    assert_json_error(r, 404)


def test_a_symlink_that_stays_inside_the_folder_is_served(http, base_url):
    r = http.get(base_url + "/dashboard/inside-link.txt")
    assert r.status_code == 200
    assert r.text == "plain text\n"


ESCAPES = [
    "/dashboard/../secret.txt",
    "/dashboard/../../secret.txt",
    "/dashboard/assets/../../secret.txt",
    "/dashboard/%2e%2e/secret.txt",
    "/dashboard/%2E%2E/secret.txt",
    "/dashboard/.%2e/secret.txt",
    "/dashboard/%2e%2e%2fsecret.txt",
    "/dashboard/..%2fsecret.txt",
    "/dashboard/..%2Fsecret.txt",
    "/dashboard/assets%2f..%2f..%2fsecret.txt",
    "/dashboard/%252e%252e/secret.txt",
    "/dashboard/..\\secret.txt",
    "/dashboard/..%5csecret.txt",
    "/dashboard//etc/passwd",
    "/dashboard/%2Fetc%2Fpasswd",
    "/dashboard/%2fetc/passwd",
    "/dashboard/escape-link.txt",
    "/dashboard/escape-dir/secret.txt",
    "/dashboard/./../secret.txt",
    "/dashboard/%00../secret.txt",
    "/dashboard/assets/notes.txt%00.html",
    "/../secret.txt",
    "/dashboard/....//secret.txt",
]


@pytest.mark.parametrize("target", ESCAPES)
def test_path_escapes_from_the_public_folder_are_404(server, target):
    status, headers, body = get_raw(server, target)
    assert status == 404, (target, status, body[:200])
    assert SECRET_TEXT.encode() not in body
    assert b"root:" not in body
    assert headers.get("content-type", "").startswith("application/json")
    assert b'"not_found"' in body


def test_the_secret_next_to_the_folder_really_exists(public_tree):
    """Guards the escape tests: they would pass trivially if there were nothing to reach."""
    assert (public_tree.parent / "secret.txt").read_text().startswith(SECRET_TEXT)
    assert (public_tree / "escape-link.txt").read_text().startswith(SECRET_TEXT)


def test_unknown_dashboard_file_is_404_json(http, base_url):
    assert_json_error(http.get(base_url + "/dashboard/no-such-file.js"), 404, code="not_found")


def test_dashboard_is_read_only(http, base_url):
    r = http.put(base_url + "/dashboard/assets/app.js", data=b"overwritten")
    assert r.status_code == 405
    assert http.get(base_url + "/dashboard/assets/app.js").text == "console.log('dashboard');\n"


def test_without_public_directory_the_repository_dashboard_is_served(start_server, tmp_path):
    """Run from the repository root, `serve` finds `public/` and serves it at /dashboard/."""
    index = REPO_ROOT / "public" / "index.html"
    if not index.exists():
        pytest.skip("the repository has no public/index.html yet")
    srv = start_server(tmp_path / "dash.db")
    r = requests.get(srv.url("/dashboard/"), timeout=15)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.content == index.read_bytes()
    srv.assert_stopped_cleanly(srv.stop())
