//! The GitHub REST API, as `fleetward fix --open-pr` uses it: find, create and update pull requests.
//!
//! One blocking HTTP client ([`ureq`], rustls) with a 30 s timeout per request. The token is sent in
//! the `Authorization` header only: it is never put into a URL, an error message or `Debug` output
//! (messages GitHub sends back are scrubbed of it too). Redirects are not followed, so the token
//! never travels to another host.

use std::fmt;
use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

/// The API base used when `GITHUB_API_URL` is unset or empty.
pub const DEFAULT_API: &str = "https://api.github.com";

/// The REST API version every request asks for.
pub const API_VERSION: &str = "2022-11-28";

/// How long one request may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Everything but RFC 3986's unreserved characters is percent-encoded, in path segments and query
/// values alike (`/`, `:`, `+`, `&`, `#`, `?`, spaces and non-ASCII included).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A GitHub repository reached through the REST API with one token.
pub struct GitHub {
    api: String,
    owner: String,
    repo: String,
    token: String,
    agent: ureq::Agent,
}

/// An open pull request, as far as fleetward needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub number: u64,
    /// The page of the pull request (`html_url`).
    pub url: String,
    pub title: String,
    /// Empty when GitHub has no body (`null`).
    pub body: String,
    /// The branch it merges into.
    pub base: String,
}

/// Why a GitHub call failed. Every message is a sentence a user can act on, and none contains the token.
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    #[error("no GitHub token: set GITHUB_TOKEN or GH_TOKEN")]
    NoToken,
    #[error(
        "GITHUB_API_URL `{0}` is not an http(s) URL: set it to the API base, such as https://api.github.com \
         or https://HOST/api/v3 for GitHub Enterprise Server"
    )]
    BadApiUrl(String),
    #[error(
        "GITHUB_REPOSITORY `{0}` is not of the form owner/repo: set it to, for example, octocat/hello-world"
    )]
    BadRepository(String),
    #[error(
        "cannot tell the GitHub repository from the remote URL `{0}`: set GITHUB_REPOSITORY=owner/repo, \
         or use a remote like https://github.com/owner/repo.git or git@github.com:owner/repo.git"
    )]
    UnknownRemote(String),
    #[error("could not reach GitHub at {host} ({request}): {reason}")]
    Network { host: String, request: String, reason: String },
    #[error(
        "GitHub rejected the token (401 {message}): set GITHUB_TOKEN or GH_TOKEN to a token with pull-request \
         write access"
    )]
    Unauthorized { message: String },
    #[error("GitHub's rate limit was hit ({status} {message}): {when}")]
    RateLimited { status: u16, message: String, when: String },
    #[error(
        "GitHub refused access to {repository} (403 {message}): the token lacks permission there; give it \
         pull-request and contents write access to {repository}"
    )]
    Forbidden { repository: String, message: String },
    #[error(
        "repository {repository} not found at {api} (404 {message}), or the token cannot see it: check \
         GITHUB_REPOSITORY (or the remote URL), GITHUB_API_URL and the token's repository access"
    )]
    NotFound { repository: String, api: String, message: String },
    #[error("GitHub refused the request ({request}: 422 {message}){}", details(.errors))]
    Unprocessable { request: String, message: String, errors: Vec<String> },
    #[error("GitHub answered {status} to {request}: {message}")]
    Status { status: u16, request: String, message: String },
    #[error("GitHub's answer to {request} is not the JSON expected: {reason}")]
    BadResponse { request: String, reason: String },
}

fn details(errors: &[String]) -> String {
    if errors.is_empty() { String::new() } else { format!(": {}", errors.join("; ")) }
}

impl fmt::Debug for GitHub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHub")
            .field("api", &self.api)
            .field("owner", &self.owner)
            .field("repo", &self.repo)
            .field("token", &"***")
            .finish()
    }
}

impl GitHub {
    /// The token from `GITHUB_TOKEN`, else `GH_TOKEN` (empty counts as missing); the API base from
    /// `GITHUB_API_URL` (default <https://api.github.com>, trailing slash tolerated); owner/repo from
    /// `GITHUB_REPOSITORY` (`owner/repo`) if set, else parsed from `remote_url`
    /// (`https://host/owner/repo(.git)`, `ssh://git@host/owner/repo.git`, `git@host:owner/repo.git`,
    /// with or without credentials in the URL).
    pub fn from_env(remote_url: &str) -> Result<GitHub, ForgeError> {
        from_lookup(|name| std::env::var(name).ok(), remote_url)
    }

    /// Same, with everything given (for tests and callers that already know). A trailing `/` of
    /// `api` is dropped.
    pub fn new(api: &str, owner: &str, repo: &str, token: &str) -> GitHub {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent(format!("fleetward/{}", env!("CARGO_PKG_VERSION")))
            .accept("application/vnd.github+json")
            .build();
        GitHub {
            api: normalize_api(api),
            owner: owner.to_string(),
            repo: repo.to_string(),
            token: token.to_string(),
            agent: config.into(),
        }
    }

    /// `owner/repo`.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.owner, self.repo)
    }

    /// The API base, without a trailing `/`.
    pub fn api(&self) -> &str {
        &self.api
    }

    /// The first open pull request whose head is `branch` of this repository's owner
    /// (`GET /repos/{owner}/{repo}/pulls?head={owner}:{branch}&state=open`), or `None`.
    pub fn find_open_pr(&self, branch: &str) -> Result<Option<PullRequest>, ForgeError> {
        let head = format!("{}:{branch}", self.owner);
        let path = format!("{}?head={}&state=open", self.pulls_path(), enc(&head));
        let pulls: Vec<ApiPull> = self.call("GET", &path, None)?;
        // GitHub ignores a `head` filter it cannot read and lists every open pull request: check.
        Ok(pulls
            .into_iter()
            .find(|p| {
                p.state.as_deref().is_none_or(|s| s == "open")
                    && p.head.as_ref().is_none_or(|h| {
                        h.r#ref == branch
                            && h.label.as_deref().is_none_or(|l| l.eq_ignore_ascii_case(&head) || l == branch)
                    })
            })
            .map(ApiPull::into_pr))
    }

    /// Open a pull request from `branch` (of this repository) into `base`
    /// (`POST /repos/{owner}/{repo}/pulls`).
    pub fn create_pr(
        &self,
        branch: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest, ForgeError> {
        let json = serde_json::json!({
            "title": title,
            "head": branch,
            "base": base,
            "body": body,
            "maintainer_can_modify": true,
        });
        let pull: ApiPull = self.call("POST", &self.pulls_path(), Some(&json))?;
        Ok(pull.into_pr())
    }

    /// Set the title, body and base of pull request `number` (`PATCH /repos/{owner}/{repo}/pulls/{number}`).
    pub fn update_pr(
        &self,
        number: u64,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest, ForgeError> {
        let json = serde_json::json!({ "title": title, "body": body, "base": base });
        let pull: ApiPull = self.call("PATCH", &format!("{}/{number}", self.pulls_path()), Some(&json))?;
        Ok(pull.into_pr())
    }

    fn pulls_path(&self) -> String {
        format!("/repos/{}/{}/pulls", enc(&self.owner), enc(&self.repo))
    }

    /// One request: `path` (already encoded) under the API base, `json` as the body.
    fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        json: Option<&serde_json::Value>,
    ) -> Result<T, ForgeError> {
        let url = format!("{}{path}", self.api);
        let request = format!("{method} {}", path.split('?').next().unwrap_or(path));
        let auth = format!("Bearer {}", self.token);
        let result = match (method, json) {
            ("GET", _) => self.headers(self.agent.get(&url), &auth).call(),
            (_, body) => {
                let body = body.map(|b| b.to_string()).unwrap_or_default();
                let builder = if method == "POST" { self.agent.post(&url) } else { self.agent.patch(&url) };
                self.headers(builder, &auth).header("Content-Type", "application/json").send(body.as_str())
            }
        };
        let mut response = result.map_err(|e| self.network_error(&request, e))?;
        let status = response.status().as_u16();
        let header = |name: &str| -> Option<String> {
            response.headers().get(name).and_then(|v| v.to_str().ok()).map(|v| v.trim().to_string())
        };
        let (remaining, reset, retry_after) =
            (header("x-ratelimit-remaining"), header("x-ratelimit-reset"), header("retry-after"));
        let text = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .map_err(|e| self.network_error(&request, e))?;
        if (200..300).contains(&status) {
            return serde_json::from_str(&text)
                .map_err(|e| ForgeError::BadResponse { request, reason: self.scrub(&e.to_string()) });
        }
        let (message, errors) = self.error_body(status, &text);
        let rate_limited = status == 429
            || (status == 403
                && (remaining.as_deref() == Some("0")
                    || retry_after.is_some()
                    || message.to_ascii_lowercase().contains("rate limit")));
        Err(match status {
            401 => ForgeError::Unauthorized { message },
            _ if rate_limited => ForgeError::RateLimited {
                status,
                message,
                when: rate_limit_when(reset.as_deref(), retry_after.as_deref(), jiff::Timestamp::now()),
            },
            403 => ForgeError::Forbidden { repository: self.repository(), message },
            404 => ForgeError::NotFound { repository: self.repository(), api: self.api.clone(), message },
            422 => ForgeError::Unprocessable { request, message, errors },
            _ => ForgeError::Status { status, request, message },
        })
    }

    fn headers<B>(&self, builder: ureq::RequestBuilder<B>, auth: &str) -> ureq::RequestBuilder<B> {
        builder
            .header("Accept", "application/vnd.github+json")
            .header("Authorization", auth)
            .header("X-GitHub-Api-Version", API_VERSION)
    }

    fn network_error(&self, request: &str, e: ureq::Error) -> ForgeError {
        let reason = match e {
            ureq::Error::Timeout(_) => format!("no answer within {} s", TIMEOUT.as_secs()),
            ureq::Error::HostNotFound => "the host name does not resolve".to_string(),
            e => e.to_string(),
        };
        ForgeError::Network {
            host: host_of(&self.api),
            request: request.to_string(),
            reason: self.scrub(&reason),
        }
    }

    /// GitHub's `message` and each `errors[]` entry of an error answer, scrubbed of the token.
    fn error_body(&self, status: u16, text: &str) -> (String, Vec<String>) {
        let reason = || {
            ureq::http::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("no reason given")
                .to_string()
        };
        let Ok(body) = serde_json::from_str::<ApiError>(text) else {
            let text = text.trim();
            return if text.is_empty() || text.len() > 300 {
                (reason(), Vec::new())
            } else {
                (format!("{}: {}", reason(), self.scrub(text)), Vec::new())
            };
        };
        let message = body.message.filter(|m| !m.trim().is_empty()).unwrap_or_else(reason);
        let errors = body.errors.iter().filter_map(error_entry).map(|e| self.scrub(&e)).collect();
        (self.scrub(&message), errors)
    }

    fn scrub(&self, text: &str) -> String {
        if self.token.is_empty() { text.to_string() } else { text.replace(&self.token, "***") }
    }
}

/// One `errors[]` entry: its `message`, else `resource`, `field` and `code`, else the string itself.
fn error_entry(entry: &serde_json::Value) -> Option<String> {
    if let Some(s) = entry.as_str() {
        return Some(s.to_string());
    }
    let get = |k: &str| entry.get(k).and_then(|v| v.as_str()).filter(|s| !s.is_empty());
    if let Some(m) = get("message") {
        return Some(m.to_string());
    }
    let mut parts = Vec::new();
    if let Some(r) = get("resource") {
        parts.push(r.to_string());
    }
    if let Some(f) = get("field") {
        parts.push(format!("field `{f}`"));
    }
    if let Some(c) = get("code") {
        parts.push(format!("is {}", c.replace('_', " ")));
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// When the rate limit lets requests through again, as a sentence.
fn rate_limit_when(reset: Option<&str>, retry_after: Option<&str>, now: jiff::Timestamp) -> String {
    if let Some(secs) = retry_after.and_then(|s| s.parse::<u64>().ok()) {
        return format!("retry after {secs} s");
    }
    if let Some(at) =
        reset.and_then(|s| s.parse::<i64>().ok()).and_then(|s| jiff::Timestamp::from_second(s).ok())
    {
        let wait = (at.as_second() - now.as_second()).max(0);
        return format!("it resets at {at} (in {wait} s); run again then");
    }
    "wait a few minutes and run again".to_string()
}

#[derive(Deserialize)]
struct ApiPull {
    number: u64,
    html_url: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    state: Option<String>,
    base: ApiRef,
    #[serde(default)]
    head: Option<ApiRef>,
}

#[derive(Deserialize)]
struct ApiRef {
    r#ref: String,
    #[serde(default)]
    label: Option<String>,
}

impl ApiPull {
    fn into_pr(self) -> PullRequest {
        PullRequest {
            number: self.number,
            url: self.html_url,
            title: self.title.unwrap_or_default(),
            body: self.body.unwrap_or_default(),
            base: self.base.r#ref,
        }
    }
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    errors: Vec<serde_json::Value>,
}

fn enc(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// [`GitHub::from_env`] with the environment given as a function (for tests).
fn from_lookup(var: impl Fn(&str) -> Option<String>, remote_url: &str) -> Result<GitHub, ForgeError> {
    let var = |name: &str| var(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let token = var("GITHUB_TOKEN").or_else(|| var("GH_TOKEN")).ok_or(ForgeError::NoToken)?;
    let api = match var("GITHUB_API_URL") {
        None => DEFAULT_API.to_string(),
        Some(api) => check_api(&api)?,
    };
    let (owner, repo) = match var("GITHUB_REPOSITORY") {
        Some(full) => match full.split_once('/') {
            Some((o, r)) if valid_owner(o) && valid_repo(r) => (o.to_string(), r.to_string()),
            _ => return Err(ForgeError::BadRepository(full)),
        },
        None => parse_remote(remote_url)
            .ok_or_else(|| ForgeError::UnknownRemote(crate::db::redact(remote_url)))?,
    };
    Ok(GitHub::new(&api, &owner, &repo, &token))
}

fn normalize_api(api: &str) -> String {
    api.trim().trim_end_matches('/').to_string()
}

/// The API base of `GITHUB_API_URL`: http(s) with a host, no query or fragment.
fn check_api(api: &str) -> Result<String, ForgeError> {
    let normalized = normalize_api(api);
    let rest = normalized.strip_prefix("https://").or_else(|| normalized.strip_prefix("http://"));
    match rest {
        Some(rest)
            if !host_of(&normalized).is_empty()
                && !rest.contains(['?', '#', ' '])
                && !rest.split('/').next().unwrap_or("").contains('@') =>
        {
            Ok(normalized)
        }
        _ => Err(ForgeError::BadApiUrl(crate::db::redact(api))),
    }
}

/// The host (and port) of a URL, without credentials.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    authority.rsplit_once('@').map_or(authority, |(_, h)| h).to_string()
}

/// Owner and repository of a git remote URL on a GitHub host: `https://host/owner/repo(.git)`,
/// `ssh://git@host[:port]/owner/repo.git`, `git://host/owner/repo.git`, `git@host:owner/repo.git`,
/// credentials and a trailing `/` allowed. Local paths and `file://` URLs are not GitHub remotes.
pub fn parse_remote(url: &str) -> Option<(String, String)> {
    let url = url.trim();
    let path = if let Some((scheme, rest)) = url.split_once("://") {
        let scheme = scheme.to_ascii_lowercase();
        if !matches!(scheme.as_str(), "https" | "http" | "ssh" | "git" | "git+ssh" | "ssh+git") {
            return None;
        }
        let (authority, path) = rest.split_once('/')?;
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        if host.is_empty() {
            return None;
        }
        path
    } else {
        // scp-like: `[user@]host:path`, where the part before the first `:` has no `/`.
        let (before, path) = url.split_once(':')?;
        let host = before.rsplit_once('@').map_or(before, |(_, h)| h);
        if host.is_empty() || before.contains(['/', '\\']) || host.len() == 1 {
            return None; // a path, or a Windows drive letter
        }
        path
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        [owner, repo] if valid_owner(owner) && valid_repo(repo) => {
            Some((owner.to_string(), repo.to_string()))
        }
        _ => None,
    }
}

/// GitHub account names: ASCII letters, digits and `-` (`_` for enterprise-managed users).
fn valid_owner(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// GitHub repository names: ASCII letters, digits, `-`, `_` and `.`, and neither `.` nor `..`.
fn valid_repo(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(o: &str, r: &str) -> Option<(String, String)> {
        Some((o.to_string(), r.to_string()))
    }

    #[test]
    fn remote_https_forms() {
        for url in [
            "https://github.com/octo/hello",
            "https://github.com/octo/hello.git",
            "https://github.com/octo/hello/",
            "https://github.com/octo/hello.git/",
            "http://github.com/octo/hello.git",
            "https://x-access-token:ghp_SECRET@github.com/octo/hello.git",
            "https://user@github.com/octo/hello",
            "https://github.example.com:8443/octo/hello.git",
            "  https://github.com/octo/hello.git\n",
            "HTTPS://github.com/octo/hello",
        ] {
            assert_eq!(parse_remote(url), pair("octo", "hello"), "{url}");
        }
    }

    #[test]
    fn remote_ssh_forms() {
        for url in [
            "ssh://git@github.com/octo/hello.git",
            "ssh://git@github.com:22/octo/hello.git",
            "ssh://github.com/octo/hello",
            "git+ssh://git@github.com/octo/hello.git",
            "git://github.com/octo/hello.git",
            "git@github.com:octo/hello.git",
            "git@github.com:octo/hello",
            "git@github.com:octo/hello.git/",
            "git@github.com:/octo/hello.git",
            "github.com:octo/hello.git",
            "org-123@github.com:octo/hello.git",
        ] {
            assert_eq!(parse_remote(url), pair("octo", "hello"), "{url}");
        }
    }

    #[test]
    fn remote_names_keep_dots_dashes_and_underscores() {
        assert_eq!(parse_remote("https://github.com/my-org/my.repo_x.git"), pair("my-org", "my.repo_x"));
        assert_eq!(
            parse_remote("git@github.com:my-org/site.github.io.git"),
            pair("my-org", "site.github.io")
        );
    }

    #[test]
    fn remote_rejects() {
        for url in [
            "",
            "/srv/git/hello.git",
            "../hello",
            "./octo/hello",
            "file:///srv/git/octo/hello.git",
            "C:\\repos\\hello",
            "C:/repos/octo/hello",
            "https://github.com/octo",
            "https://github.com/",
            "https://github.com/octo/hello/tree/main",
            "https://gitlab.com/group/sub/hello.git",
            "https:///octo/hello",
            "git@github.com:hello.git",
            "ftp://github.com/octo/hello",
            "https://github.com/oc to/hello",
            "https://github.com/octo/..",
            "https://github.com/octo/hel%2Flo",
        ] {
            assert_eq!(parse_remote(url), None, "{url}");
        }
    }

    #[test]
    fn unknown_remote_error_hides_credentials() {
        let env = |name: &str| (name == "GITHUB_TOKEN").then(|| "tok".to_string());
        for url in ["https://user:ghp_SECRET@example.com/x", "user:ghp_SECRET@host:/srv/x"] {
            let err = from_lookup(env, url).unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, ForgeError::UnknownRemote(_)), "{text}");
            assert!(!text.contains("ghp_SECRET"), "{text}");
            assert!(text.contains("GITHUB_REPOSITORY"), "{text}");
        }
    }

    #[test]
    fn api_base_handling() {
        assert_eq!(GitHub::new("https://api.github.com/", "o", "r", "t").api(), "https://api.github.com");
        assert_eq!(GitHub::new("https://api.github.com", "o", "r", "t").api(), "https://api.github.com");
        assert_eq!(
            GitHub::new("https://ghe.example/api/v3//", "o", "r", "t").api(),
            "https://ghe.example/api/v3"
        );
        assert_eq!(check_api("http://127.0.0.1:8080/").unwrap(), "http://127.0.0.1:8080");
        assert_eq!(check_api(" https://ghe.example/api/v3/ ").unwrap(), "https://ghe.example/api/v3");
        for bad in ["api.github.com", "ftp://api.github.com", "https://", "https://h/x?y=1", "https://u:p@h/"]
        {
            assert!(matches!(check_api(bad), Err(ForgeError::BadApiUrl(_))), "{bad}");
        }
        let err = check_api("https://u:ghp_SECRET@h/").unwrap_err().to_string();
        assert!(!err.contains("ghp_SECRET"), "{err}");
        assert_eq!(host_of("https://u:p@ghe.example:8443/api/v3"), "ghe.example:8443");
        assert_eq!(host_of("https://api.github.com"), "api.github.com");
    }

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn from_env_sources() {
        let remote = "git@github.com:octo/hello.git";
        let gh = from_lookup(env(&[("GITHUB_TOKEN", "t1"), ("GH_TOKEN", "t2")]), remote).unwrap();
        assert_eq!(
            (gh.api(), gh.repository().as_str(), gh.token.as_str()),
            (DEFAULT_API, "octo/hello", "t1")
        );
        let gh = from_lookup(env(&[("GITHUB_TOKEN", ""), ("GH_TOKEN", "t2")]), remote).unwrap();
        assert_eq!(gh.token, "t2");
        let gh = from_lookup(
            env(&[
                ("GH_TOKEN", "t2"),
                ("GITHUB_API_URL", "https://ghe.example/api/v3/"),
                ("GITHUB_REPOSITORY", "acme/svc"),
            ]),
            "/local/path",
        )
        .unwrap();
        assert_eq!((gh.api(), gh.repository().as_str()), ("https://ghe.example/api/v3", "acme/svc"));
        let gh = from_lookup(env(&[("GH_TOKEN", "t"), ("GITHUB_API_URL", "")]), remote).unwrap();
        assert_eq!(gh.api(), DEFAULT_API);

        let err = from_lookup(env(&[("GITHUB_TOKEN", ""), ("GH_TOKEN", " ")]), remote).unwrap_err();
        assert_eq!(err.to_string(), "no GitHub token: set GITHUB_TOKEN or GH_TOKEN");
        for bad in ["acme", "acme/", "/svc", "acme/svc/x", "ac me/svc"] {
            let err = from_lookup(env(&[("GH_TOKEN", "t"), ("GITHUB_REPOSITORY", bad)]), remote).unwrap_err();
            assert!(matches!(err, ForgeError::BadRepository(_)), "{bad}: {err}");
        }
        let err =
            from_lookup(env(&[("GH_TOKEN", "t"), ("GITHUB_API_URL", "api.github.com")]), remote).unwrap_err();
        assert!(matches!(err, ForgeError::BadApiUrl(_)), "{err}");
    }

    #[test]
    fn debug_hides_token() {
        let gh = GitHub::new("https://api.github.com", "o", "r", "ghp_TESTTOKEN123");
        let text = format!("{gh:?}");
        assert!(!text.contains("ghp_TESTTOKEN123") && text.contains("***"), "{text}");
    }

    #[test]
    fn encoding() {
        assert_eq!(enc("octo:fleetward/fix/services"), "octo%3Afleetward%2Ffix%2Fservices");
        assert_eq!(enc("a b+c&d#e?é~x.y_z-w"), "a%20b%2Bc%26d%23e%3F%C3%A9~x.y_z-w");
        let gh = GitHub::new("https://api.github.com", "my org", "r/x", "t");
        assert_eq!(gh.pulls_path(), "/repos/my%20org/r%2Fx/pulls");
    }

    #[test]
    fn rate_limit_sentences() {
        let now = jiff::Timestamp::from_second(1_700_000_000).unwrap();
        assert_eq!(rate_limit_when(None, Some("60"), now), "retry after 60 s");
        assert_eq!(
            rate_limit_when(Some("1700000600"), None, now),
            "it resets at 2023-11-14T22:23:20Z (in 600 s); run again then"
        );
        assert_eq!(rate_limit_when(Some("junk"), None, now), "wait a few minutes and run again");
    }

    #[test]
    fn error_entries() {
        let v: serde_json::Value = serde_json::json!([
            {"resource": "PullRequest", "code": "custom", "message": "No commits between main and x"},
            {"resource": "PullRequest", "field": "base", "code": "invalid"},
            "plain",
            {}
        ]);
        let got: Vec<String> = v.as_array().unwrap().iter().filter_map(error_entry).collect();
        assert_eq!(got, ["No commits between main and x", "PullRequest field `base` is invalid", "plain"]);
    }
}
