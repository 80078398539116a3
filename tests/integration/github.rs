//! A fake GitHub REST API on 127.0.0.1 ([`FakeGitHub`]) speaking the pull-request endpoints that
//! `fleetward fix --open-pr` uses, and recording every request whose shape GitHub would not accept
//! (or that fleetward should not send); and the tests of `fleetward::forge` against it.
//!
//! Other test modules start one, point the binary at it with `GITHUB_API_URL=<fake.url>`, and
//! assert `fake.violations()` is empty.
#![allow(dead_code)] // helpers are used by some test modules only

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use fleetward::forge::{ForgeError, GitHub, PullRequest};
use serde_json::{Value, json};

/// The REST API version the client must ask for.
const API_VERSION: &str = "2022-11-28";
const DOCS: &str = "https://docs.github.com/rest/pulls/pulls";

/// A pull request held by the fake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakePull {
    pub number: u64,
    /// The head branch (of the repository's owner).
    pub head: String,
    pub base: String,
    pub title: String,
    pub body: String,
    /// `open` or `closed`.
    pub state: String,
    pub maintainer_can_modify: bool,
}

#[derive(Clone)]
struct Canned {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

#[derive(Clone)]
struct State {
    owner: String,
    repo: String,
    token: String,
    pulls: Vec<FakePull>,
    next_number: u64,
    canned: VecDeque<Canned>,
    requests: Vec<String>,
    violations: Vec<String>,
}

/// A GitHub REST API for one repository on `127.0.0.1:PORT`, served from a background thread until
/// dropped.
pub struct FakeGitHub {
    /// The API base, `http://127.0.0.1:PORT` (no trailing `/`).
    pub url: String,
    state: Arc<Mutex<State>>,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

impl FakeGitHub {
    /// Serve `owner/repo`, accepting `Authorization: Bearer <token>` only.
    pub fn start(owner: &str, repo: &str, token: &str) -> FakeGitHub {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1:0"));
        let port = server.server_addr().to_ip().expect("an IP address").port();
        let state = Arc::new(Mutex::new(State {
            owner: owner.to_string(),
            repo: repo.to_string(),
            token: token.to_string(),
            pulls: Vec::new(),
            next_number: 1,
            canned: VecDeque::new(),
            requests: Vec::new(),
            violations: Vec::new(),
        }));
        let thread = {
            let (server, state) = (Arc::clone(&server), Arc::clone(&state));
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    serve(&state, request);
                }
            })
        };
        FakeGitHub { url: format!("http://127.0.0.1:{port}"), state, server, thread: Some(thread) }
    }

    /// Answer the next request (after checking its shape as usual) with `status`, `headers` and
    /// `body` instead of serving it. Calls queue up, one answer per request.
    pub fn fail_next(&self, status: u16, headers: &[(&str, &str)], body: &str) {
        let headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        self.lock().canned.push_back(Canned { status, headers, body: body.to_string() });
    }

    /// Add a pull request as if someone had opened it; returns its number.
    pub fn add_pull(&self, head: &str, base: &str, title: &str, body: &str, state: &str) -> u64 {
        let mut s = self.lock();
        let number = s.next_number;
        s.next_number += 1;
        s.pulls.push(FakePull {
            number,
            head: head.to_string(),
            base: base.to_string(),
            title: title.to_string(),
            body: body.to_string(),
            state: state.to_string(),
            maintainer_can_modify: false,
        });
        number
    }

    /// Every pull request, open or closed, by number.
    pub fn pulls(&self) -> Vec<FakePull> {
        self.lock().pulls.clone()
    }

    /// `METHOD /path?query` of every request, in order, as received (still percent-encoded).
    pub fn requests(&self) -> Vec<String> {
        self.lock().requests.clone()
    }

    /// Every request-shape problem seen, in order.
    pub fn violations(&self) -> Vec<String> {
        self.lock().violations.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One answer: status, extra headers, JSON body.
type Answer = (u16, Vec<(String, String)>, String);

fn serve(state: &Mutex<State>, mut request: tiny_http::Request) {
    let method = request.method().as_str().to_string();
    let raw_url = request.url().to_string();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|h| (h.field.as_str().as_str().to_string(), h.value.as_str().to_string()))
        .collect();
    let mut body = Vec::new();
    let read = request.as_reader().read_to_end(&mut body);

    let (status, extra, text) = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        s.requests.push(format!("{method} {raw_url}"));
        let mut check = Check { what: format!("{method} {raw_url}"), problems: Vec::new() };
        if let Err(e) = read {
            check.bad(format!("body could not be read: {e}"));
        }
        let authorized = check_headers(&mut check, &s.token, &method, &headers, &body);
        // A canned or refused request is still checked as if served, on a copy of the state.
        let canned = s.canned.pop_front();
        let answer = if canned.is_some() || !authorized {
            let mut scratch = s.clone();
            route(&mut scratch, &mut check, &method, &raw_url, &body);
            match canned {
                Some(c) => (c.status, c.headers, c.body),
                None => (
                    401,
                    vec![],
                    json!({"message": "Bad credentials", "documentation_url": DOCS, "status": "401"})
                        .to_string(),
                ),
            }
        } else {
            route(&mut s, &mut check, &method, &raw_url, &body)
        };
        let Check { what, problems } = check;
        s.violations.extend(problems.into_iter().map(|p| format!("{what}: {p}")));
        answer
    };

    let mut response = tiny_http::Response::from_string(text).with_status_code(status);
    let mut has_type = false;
    for (k, v) in &extra {
        has_type |= k.eq_ignore_ascii_case("content-type");
        response
            .add_header(tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).expect("a valid header"));
    }
    if !has_type {
        response.add_header(
            tiny_http::Header::from_bytes(&b"Content-Type"[..], &b"application/json; charset=utf-8"[..])
                .unwrap(),
        );
    }
    let _ = request.respond(response);
}

struct Check {
    what: String,
    problems: Vec<String>,
}

impl Check {
    fn bad(&mut self, problem: impl Into<String>) {
        self.problems.push(problem.into());
    }
}

fn header_values<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
}

/// Check the headers (and that a body is JSON exactly when it should be); `false` when the token is
/// not the expected bearer token.
fn check_headers(
    check: &mut Check,
    token: &str,
    method: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> bool {
    let one = |check: &mut Check, name: &str| -> Option<String> {
        match header_values(headers, name).as_slice() {
            [] => {
                check.bad(format!("no {name} header"));
                None
            }
            [v] => Some(v.to_string()),
            many => {
                check.bad(format!("{} {name} headers", many.len()));
                Some(many[0].to_string())
            }
        }
    };
    let authorized = match one(check, "Authorization") {
        Some(v) if v == format!("Bearer {token}") => true,
        Some(v) => {
            let scheme = v.split(' ').next().unwrap_or("");
            check.bad(format!(
                "Authorization is not `Bearer <the token>` (scheme `{scheme}`, token wrong or missing)"
            ));
            false
        }
        None => false,
    };
    if let Some(accept) = one(check, "Accept")
        && !accept
            .split(',')
            .any(|a| a.split(';').next().unwrap_or("").trim() == "application/vnd.github+json")
    {
        check.bad(format!("Accept is `{accept}`, not application/vnd.github+json"));
    }
    if let Some(version) = one(check, "X-GitHub-Api-Version")
        && version != API_VERSION
    {
        check.bad(format!("X-GitHub-Api-Version is `{version}`, not {API_VERSION}"));
    }
    if let Some(agent) = one(check, "User-Agent")
        && !agent.starts_with("fleetward/")
    {
        check.bad(format!("User-Agent is `{agent}`, not fleetward/<version>"));
    }
    let types = header_values(headers, "Content-Type");
    match method {
        "POST" | "PATCH" | "PUT" => {
            match types.as_slice() {
                [t] if t.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json") => {}
                [] => check.bad("a body without Content-Type"),
                [t] => check.bad(format!("Content-Type is `{t}`, not application/json")),
                many => check.bad(format!("{} Content-Type headers", many.len())),
            }
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(_)) => {}
                Ok(_) => check.bad("the body is JSON but not an object"),
                Err(e) => check.bad(format!("the body is not JSON: {e}")),
            }
        }
        _ => {
            if !body.is_empty() {
                check.bad(format!("a {method} with a body"));
            }
        }
    }
    authorized
}

fn not_found() -> Answer {
    (404, vec![], json!({"message": "Not Found", "documentation_url": DOCS, "status": "404"}).to_string())
}

fn unprocessable(message: &str, errors: Value) -> Answer {
    let body = json!({"message": message, "errors": errors, "documentation_url": DOCS, "status": "422"});
    (422, vec![], body.to_string())
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned()
}

fn route(s: &mut State, check: &mut Check, method: &str, raw_url: &str, body: &[u8]) -> Answer {
    let (path, query) = raw_url.split_once('?').unwrap_or((raw_url, ""));
    let segments: Vec<String> = path.split('/').skip(1).map(decode).collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let (owner, repo, rest) = match segments.as_slice() {
        ["repos", owner, repo, rest @ ..] if !rest.is_empty() && rest[0] == "pulls" => {
            (*owner, *repo, &rest[1..])
        }
        _ => {
            check.bad("not an endpoint fleetward uses (/repos/{owner}/{repo}/pulls[/{number}])");
            return not_found();
        }
    };
    let known = owner.eq_ignore_ascii_case(&s.owner) && repo.eq_ignore_ascii_case(&s.repo);
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match (method, rest) {
        ("GET", []) => {
            if !known {
                return not_found();
            }
            list(s, check, query)
        }
        ("POST", []) => {
            if !query.is_empty() {
                check.bad("a query string on create");
            }
            if !known {
                return not_found();
            }
            create(s, check, &body)
        }
        ("PATCH", [number]) => {
            if !query.is_empty() {
                check.bad("a query string on update");
            }
            let Ok(number) = number.parse::<u64>() else {
                check.bad(format!("`{number}` is not a pull request number"));
                return not_found();
            };
            if !known {
                return not_found();
            }
            update(s, check, number, &body)
        }
        (_, [] | [_]) => {
            check.bad(format!("{method} is not a method fleetward uses on this path"));
            not_found()
        }
        _ => {
            check.bad("not an endpoint fleetward uses (/repos/{owner}/{repo}/pulls[/{number}])");
            not_found()
        }
    }
}

fn pull_json(s: &State, p: &FakePull) -> Value {
    let (owner, repo) = (&s.owner, &s.repo);
    json!({
        "url": format!("https://api.github.com/repos/{owner}/{repo}/pulls/{}", p.number),
        "id": 1000 + p.number,
        "html_url": format!("https://github.com/{owner}/{repo}/pull/{}", p.number),
        "number": p.number,
        "state": p.state,
        "locked": false,
        "title": p.title,
        "user": {"login": owner},
        "body": if p.body.is_empty() { Value::Null } else { Value::from(p.body.clone()) },
        "draft": false,
        "head": {
            "label": format!("{owner}:{}", p.head),
            "ref": p.head,
            "sha": "0123456789abcdef0123456789abcdef01234567",
            "repo": {"name": repo, "full_name": format!("{owner}/{repo}")},
        },
        "base": {
            "label": format!("{owner}:{}", p.base),
            "ref": p.base,
            "sha": "89abcdef0123456789abcdef0123456789abcdef",
            "repo": {"name": repo, "full_name": format!("{owner}/{repo}")},
        },
        "maintainer_can_modify": p.maintainer_can_modify,
    })
}

fn list(s: &State, check: &mut Check, query: &str) -> Answer {
    let (mut state, mut head, mut base) = ("open".to_string(), None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode(k), decode(v));
        match k.as_str() {
            "state" if matches!(v.as_str(), "open" | "closed" | "all") => state = v,
            "state" => check.bad(format!("state=`{v}` is not open, closed or all")),
            "head" => match v.split_once(':') {
                Some((o, b)) if !o.is_empty() && !b.is_empty() => head = Some((o.to_string(), b.to_string())),
                // GitHub then ignores the filter and lists every pull request.
                _ => check.bad(format!("head=`{v}` is not owner:branch")),
            },
            "base" => base = Some(v),
            "sort" | "direction" | "per_page" | "page" => {}
            _ => check.bad(format!("unknown query parameter `{k}`")),
        }
    }
    let pulls: Vec<Value> = s
        .pulls
        .iter()
        .filter(|p| state == "all" || p.state == state)
        .filter(|p| head.as_ref().is_none_or(|(o, b)| o.eq_ignore_ascii_case(&s.owner) && *b == p.head))
        .filter(|p| base.as_ref().is_none_or(|b| *b == p.base))
        .map(|p| pull_json(s, p))
        .collect();
    (200, vec![], Value::from(pulls).to_string())
}

fn check_fields(check: &mut Check, body: &Value, strings: &[&str], bools: &[&str], numbers: &[&str]) {
    let Some(object) = body.as_object() else { return };
    for (k, v) in object {
        let ok = if strings.contains(&k.as_str()) {
            v.is_string()
        } else if bools.contains(&k.as_str()) {
            v.is_boolean()
        } else if numbers.contains(&k.as_str()) {
            v.is_u64()
        } else {
            check.bad(format!("unknown field `{k}`"));
            continue;
        };
        if !ok {
            check.bad(format!("field `{k}` has the wrong type: {v}"));
        }
    }
}

fn create(s: &mut State, check: &mut Check, body: &Value) -> Answer {
    check_fields(
        check,
        body,
        &["title", "head", "head_repo", "base", "body"],
        &["maintainer_can_modify", "draft"],
        &["issue"],
    );
    let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let (Some(title), Some(head), Some(base)) = (field("title"), field("head"), field("base")) else {
        for k in ["title", "head", "base"] {
            if field(k).is_none() {
                check.bad(format!("create without `{k}`"));
            }
        }
        let missing: Vec<Value> = ["title", "head", "base"]
            .iter()
            .filter(|k| field(k).is_none())
            .map(|k| json!({"resource": "PullRequest", "field": k, "code": "missing_field"}))
            .collect();
        return unprocessable("Validation Failed", Value::from(missing));
    };
    // `head` is `branch`, or `owner:branch` (only this repository's owner is known here).
    let branch = match head.split_once(':') {
        Some((o, b)) if o.eq_ignore_ascii_case(&s.owner) => b.to_string(),
        Some(_) => {
            return unprocessable(
                "Validation Failed",
                json!([{"resource": "PullRequest", "field": "head", "code": "invalid"}]),
            );
        }
        None => head.clone(),
    };
    if title.trim().is_empty() {
        return unprocessable(
            "Validation Failed",
            json!([{"resource": "PullRequest", "field": "title", "code": "missing_field"}]),
        );
    }
    if branch == base {
        let message = format!("No commits between {base} and {branch}");
        return unprocessable(
            "Validation Failed",
            json!([{"resource": "PullRequest", "code": "custom", "message": message}]),
        );
    }
    if s.pulls.iter().any(|p| p.state == "open" && p.head == branch) {
        let message = format!("A pull request already exists for {}:{branch}.", s.owner);
        return unprocessable(
            "Validation Failed",
            json!([{"resource": "PullRequest", "code": "custom", "message": message}]),
        );
    }
    let number = s.next_number;
    s.next_number += 1;
    let pull = FakePull {
        number,
        head: branch,
        base,
        title,
        body: field("body").unwrap_or_default(),
        state: "open".to_string(),
        maintainer_can_modify: body.get("maintainer_can_modify").and_then(Value::as_bool).unwrap_or(false),
    };
    let answer = pull_json(s, &pull);
    s.pulls.push(pull);
    let location = format!("https://api.github.com/repos/{}/{}/pulls/{number}", s.owner, s.repo);
    (201, vec![("Location".to_string(), location)], answer.to_string())
}

fn update(s: &mut State, check: &mut Check, number: u64, body: &Value) -> Answer {
    check_fields(check, body, &["title", "body", "state", "base"], &["maintainer_can_modify"], &[]);
    let Some(i) = s.pulls.iter().position(|p| p.number == number) else { return not_found() };
    let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    if let Some(state) = field("state")
        && state != "open"
        && state != "closed"
    {
        return unprocessable(
            "Validation Failed",
            json!([{"resource": "PullRequest", "field": "state", "code": "invalid"}]),
        );
    }
    let pull = &mut s.pulls[i];
    if let Some(v) = field("title") {
        pull.title = v;
    }
    if let Some(v) = field("body") {
        pull.body = v;
    }
    if let Some(v) = field("base") {
        pull.base = v;
    }
    if let Some(v) = field("state") {
        pull.state = v;
    }
    if let Some(v) = body.get("maintainer_can_modify").and_then(Value::as_bool) {
        pull.maintainer_can_modify = v;
    }
    let pull = s.pulls[i].clone();
    (200, vec![], pull_json(s, &pull).to_string())
}

// ---------------------------------------------------------------------------------------------
// The client, for real, against the fake.

const TOKEN: &str = "ghp_TESTTOKEN123";
const BRANCH: &str = "fleetward/fix/services";

fn setup() -> (FakeGitHub, GitHub) {
    let fake = FakeGitHub::start("octo", "fleet", TOKEN);
    let gh = GitHub::new(&format!("{}/", fake.url), "octo", "fleet", TOKEN);
    (fake, gh)
}

/// The error's message, checked to hold neither the token nor a Debug dump.
fn message(err: ForgeError) -> String {
    let text = err.to_string();
    assert!(!text.contains(TOKEN), "the token leaked: {text}");
    assert!(!format!("{err:?}").contains(TOKEN), "the token leaked: {err:?}");
    text
}

#[test]
fn github_find_create_find_update_without_duplicates() {
    let (fake, gh) = setup();
    assert!(!format!("{gh:?}").contains(TOKEN));
    assert_eq!(gh.repository(), "octo/fleet");
    fake.add_pull("other-branch", "main", "Someone else's", "", "open");
    fake.add_pull(BRANCH, "main", "An old closed one", "old", "closed");

    assert_eq!(gh.find_open_pr(BRANCH).unwrap(), None);
    let created = gh.create_pr(BRANCH, "main", "Fix 2 advisories", "Body & more: a/b?c#d").unwrap();
    assert_eq!(
        created,
        PullRequest {
            number: 3,
            url: "https://github.com/octo/fleet/pull/3".to_string(),
            title: "Fix 2 advisories".to_string(),
            body: "Body & more: a/b?c#d".to_string(),
            base: "main".to_string(),
        }
    );
    assert_eq!(gh.find_open_pr(BRANCH).unwrap(), Some(created.clone()));

    let updated = gh.update_pr(created.number, "develop", "Fix 3 advisories", "").unwrap();
    assert_eq!((updated.number, updated.title.as_str(), updated.body.as_str()), (3, "Fix 3 advisories", ""));
    assert_eq!(updated.base, "develop");
    assert_eq!(gh.find_open_pr(BRANCH).unwrap(), Some(updated));

    let open: Vec<FakePull> =
        fake.pulls().into_iter().filter(|p| p.head == BRANCH && p.state == "open").collect();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!((open[0].base.as_str(), open[0].title.as_str()), ("develop", "Fix 3 advisories"));
    assert!(open[0].maintainer_can_modify);
    assert_eq!(
        fake.requests(),
        [
            "GET /repos/octo/fleet/pulls?head=octo%3Afleetward%2Ffix%2Fservices&state=open",
            "POST /repos/octo/fleet/pulls",
            "GET /repos/octo/fleet/pulls?head=octo%3Afleetward%2Ffix%2Fservices&state=open",
            "PATCH /repos/octo/fleet/pulls/3",
            "GET /repos/octo/fleet/pulls?head=octo%3Afleetward%2Ffix%2Fservices&state=open",
        ]
    );
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[test]
fn github_create_twice_is_refused_like_github() {
    let (fake, gh) = setup();
    gh.create_pr(BRANCH, "main", "t", "b").unwrap();
    let text = message(gh.create_pr(BRANCH, "main", "t", "b").unwrap_err());
    assert!(text.contains("422 Validation Failed"), "{text}");
    assert!(text.contains("A pull request already exists for octo:fleetward/fix/services."), "{text}");
    assert_eq!(fake.pulls().len(), 1);
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[test]
fn github_find_ignores_pulls_of_other_heads_even_if_unfiltered() {
    // A server that ignores `head` (as GitHub does for one it cannot read) must not make another
    // branch's pull request ours.
    let (fake, gh) = setup();
    fake.fail_next(
        200,
        &[],
        &json!([{"number": 9, "html_url": "https://github.com/octo/fleet/pull/9", "title": "x", "body": null,
                 "state": "open", "head": {"ref": "other", "label": "octo:other"}, "base": {"ref": "main"}}])
        .to_string(),
    );
    assert_eq!(gh.find_open_pr(BRANCH).unwrap(), None);
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[test]
fn github_401_bad_credentials() {
    let (fake, _) = setup();
    let gh = GitHub::new(&fake.url, "octo", "fleet", "ghp_WRONGTOKEN999");
    let err = gh.find_open_pr(BRANCH).unwrap_err();
    let text = err.to_string();
    assert!(!text.contains("ghp_WRONGTOKEN999"), "{text}");
    assert_eq!(
        text,
        "GitHub rejected the token (401 Bad credentials): set GITHUB_TOKEN or GH_TOKEN to a token with \
         pull-request write access"
    );
    let violations = fake.violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(violations[0].contains("Authorization"), "{violations:?}");
    assert!(!violations[0].contains("ghp_WRONGTOKEN999"), "{violations:?}");
}

#[test]
fn github_403_permission() {
    let (fake, gh) = setup();
    fake.fail_next(
        403,
        &[("x-ratelimit-remaining", "4999")],
        r#"{"message":"Resource not accessible by personal access token","documentation_url":"x","status":"403"}"#,
    );
    let text = message(gh.create_pr(BRANCH, "main", "t", "b").unwrap_err());
    assert!(text.contains("GitHub refused access to octo/fleet"), "{text}");
    assert!(text.contains("Resource not accessible by personal access token"), "{text}");
    assert!(text.contains("write access"), "{text}");
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[test]
fn github_403_rate_limit_says_when_it_resets() {
    let (fake, gh) = setup();
    let reset = jiff::Timestamp::now().as_second() + 1200;
    fake.fail_next(
        403,
        &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", &reset.to_string())],
        r#"{"message":"API rate limit exceeded for user ID 1.","documentation_url":"x"}"#,
    );
    let text = message(gh.find_open_pr(BRANCH).unwrap_err());
    let at = jiff::Timestamp::from_second(reset).unwrap().to_string();
    assert!(text.contains("rate limit"), "{text}");
    assert!(text.contains("API rate limit exceeded for user ID 1."), "{text}");
    assert!(text.contains(&format!("it resets at {at}")), "{text}");
    assert!(text.contains("(in 1200 s)") || text.contains("(in 1199 s)"), "{text}");
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[test]
fn github_429_retry_after() {
    let (fake, gh) = setup();
    fake.fail_next(
        429,
        &[("retry-after", "60")],
        r#"{"message":"You have exceeded a secondary rate limit."}"#,
    );
    let text = message(gh.update_pr(1, "main", "t", "b").unwrap_err());
    assert!(text.contains("429 You have exceeded a secondary rate limit."), "{text}");
    assert!(text.contains("retry after 60 s"), "{text}");
}

#[test]
fn github_404_repository() {
    let (fake, _) = setup();
    let gh = GitHub::new(&fake.url, "octo", "nope", TOKEN);
    let text = message(gh.find_open_pr(BRANCH).unwrap_err());
    assert!(
        text.starts_with(&format!("repository octo/nope not found at {} (404 Not Found)", fake.url)),
        "{text}"
    );
    assert!(text.contains("the token cannot see it"), "{text}");
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[test]
fn github_422_lists_each_error() {
    let (fake, gh) = setup();
    fake.fail_next(
        422,
        &[],
        &json!({"message": "Validation Failed", "errors": [
            {"resource": "PullRequest", "code": "custom", "message": "No commits between main and fleetward/fix/services"},
            {"resource": "PullRequest", "field": "base", "code": "invalid"},
        ]})
        .to_string(),
    );
    let text = message(gh.create_pr(BRANCH, "main", "t", "b").unwrap_err());
    assert_eq!(
        text,
        "GitHub refused the request (POST /repos/octo/fleet/pulls: 422 Validation Failed): No commits between \
         main and fleetward/fix/services; PullRequest field `base` is invalid"
    );
}

#[test]
fn github_500_and_bad_json() {
    let (fake, gh) = setup();
    fake.fail_next(500, &[("content-type", "text/html")], "<html>oops</html>");
    let text = message(gh.find_open_pr(BRANCH).unwrap_err());
    assert!(
        text.starts_with("GitHub answered 500 to GET /repos/octo/fleet/pulls: Internal Server Error"),
        "{text}"
    );

    fake.fail_next(502, &[], r#"{"message":"Server Error"}"#);
    let text = message(gh.find_open_pr(BRANCH).unwrap_err());
    assert_eq!(text, "GitHub answered 502 to GET /repos/octo/fleet/pulls: Server Error");

    fake.fail_next(200, &[], "not json");
    let text = message(gh.find_open_pr(BRANCH).unwrap_err());
    assert!(
        text.starts_with("GitHub's answer to GET /repos/octo/fleet/pulls is not the JSON expected"),
        "{text}"
    );

    fake.fail_next(201, &[], r#"{"number": 1}"#);
    let text = message(gh.create_pr(BRANCH, "main", "t", "b").unwrap_err());
    assert!(text.contains("missing field"), "{text}");
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[test]
fn github_server_messages_are_scrubbed_of_the_token() {
    let (fake, gh) = setup();
    fake.fail_next(418, &[], &json!({"message": format!("token {TOKEN} is a teapot")}).to_string());
    let text = message(gh.find_open_pr(BRANCH).unwrap_err());
    assert!(text.contains("token *** is a teapot"), "{text}");
}

#[test]
fn github_unreachable_names_the_host_not_the_token() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let gh = GitHub::new(&format!("http://127.0.0.1:{port}"), "octo", "fleet", TOKEN);
    let text = message(gh.find_open_pr(BRANCH).unwrap_err());
    assert!(
        text.starts_with(&format!(
            "could not reach GitHub at 127.0.0.1:{port} (GET /repos/octo/fleet/pulls)"
        )),
        "{text}"
    );
}

#[test]
fn github_fake_reports_bad_request_shapes() {
    let fake = FakeGitHub::start("octo", "fleet", TOKEN);
    // A plain client: ureq's own User-Agent and Accept, no token, no API version.
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let r = agent.get(&format!("{}/repos/octo/fleet/pulls?head=fleetward&bogus=1", fake.url)).call().unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = agent
        .post(&format!("{}/repos/octo/fleet/pulls", fake.url))
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .header("Accept", "application/vnd.github+json")
        .header("X-GitHub-Api-Version", API_VERSION)
        .header("User-Agent", "fleetward/0")
        .header("Content-Type", "text/plain")
        .send(r#"{"title":"t","head":"x","colour":"red"}"#)
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let r = agent
        .delete(&format!("{}/repos/octo/fleet/pulls/1", fake.url))
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .header("Accept", "application/vnd.github+json")
        .header("X-GitHub-Api-Version", API_VERSION)
        .header("User-Agent", "fleetward/0")
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);

    let v = fake.violations().join("\n");
    for expected in [
        "no Authorization header",
        "Accept is `*/*`",
        "no X-GitHub-Api-Version header",
        "User-Agent is `ureq/",
        "head=`fleetward` is not owner:branch",
        "unknown query parameter `bogus`",
        "Content-Type is `text/plain`",
        "unknown field `colour`",
        "create without `base`",
        "DELETE is not a method fleetward uses",
    ] {
        assert!(v.contains(expected), "`{expected}` not in:\n{v}");
    }
    assert!(fake.pulls().is_empty());
}
