//! The plan itself: its routes, rules and counters, read from the JSON file, and the
//! request log.

use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::server::blob_input::{parse_ref, BlobRef};
use crate::server::state::BUCKET;

/// The routes a rule can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// `/session` and `/login`, any method.
    Session,
    /// `POST /blobs`
    Create,
    /// `POST /{bucket}`: the upload form.
    S3Post,
    /// `PUT|POST /blobs/{id}/complete`
    Complete,
    /// `GET /blobs/{id}`
    Info,
    /// `GET /blobs/{uid}/object`
    Object,
    /// `GET /blobs`
    List,
    /// `GET /blobs/{uid}/download` and `GET /blobs/{uid}`: the 301 to storage.
    Download,
    /// `GET|HEAD /{bucket}/{key}`: the presigned download.
    S3Get,
    /// `DELETE /blobs/{id}`
    Delete,
    /// `PUT /blobs/{id}`
    Rename,
}

impl Route {
    /// The route of a request, `.json` suffix or not; `None` for paths no route serves.
    pub fn of(method: &Method, path: &str) -> Option<Route> {
        let bucket = format!("/{BUCKET}");
        if path == bucket {
            return (method == Method::POST).then_some(Route::S3Post);
        }
        if path.starts_with(&format!("{bucket}/")) {
            return matches!(*method, Method::GET | Method::HEAD).then_some(Route::S3Get);
        }
        // `GET /blobs/{uid}.json` is the record, `GET /blobs/{uid}` the bytes.
        let suffixed = path.ends_with(".json");
        let path = path.strip_suffix(".json").unwrap_or(path);
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let route = match (method.as_str(), segments.as_slice()) {
            (_, ["session" | "login"]) => Route::Session,
            ("POST", ["blobs"]) => Route::Create,
            ("GET", ["blobs"]) => Route::List,
            ("GET", ["blobs", x]) => match parse_ref(x) {
                Some(BlobRef::Uid(_)) if !suffixed => Route::Download,
                _ => Route::Info,
            },
            ("PUT", ["blobs", _]) => Route::Rename,
            ("DELETE", ["blobs", _]) => Route::Delete,
            ("PUT" | "POST", ["blobs", _, "complete"]) => Route::Complete,
            ("GET", ["blobs", _, "object"]) => Route::Object,
            ("GET", ["blobs", _, "download"]) => Route::Download,
            _ => return None,
        };
        Some(route)
    }

    pub(super) fn is_s3(self) -> bool {
        matches!(self, Route::S3Post | Route::S3Get)
    }
}

/// What a rule does to a request it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Answer at once with this status (the request never reaches its handler), in
    /// the route's dialect: the API's JSON errors or S3's XML.
    Status {
        status: StatusCode,
        /// Seconds, sent as `Retry-After`.
        retry_after: Option<u64>,
        /// With 401: also delete the caller's session, so that the token is really
        /// gone, as when it expires mid-batch.
        end_session: bool,
    },
    /// Break the connection after this many bytes of a body: the request's for
    /// `s3_post`, the answer's for the others. For a ranged answer (206) the count
    /// starts at the object's first byte, so a resumed download meets the same break.
    Cut { after: u64 },
    /// Hold the request this long before handling it.
    Delay(Duration),
    /// Carry a body at most this many bytes a second, as a slow link would: the
    /// request's for `s3_post` (read that slowly, so the client's buffers fill and
    /// wait), the answer's for the others.
    Throttle { bytes_per_sec: u64 },
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::Status {
                status,
                retry_after,
                ..
            } => {
                write!(f, "status {}", status.as_u16())?;
                if let Some(secs) = retry_after {
                    write!(f, " (Retry-After: {secs})")?;
                }
                Ok(())
            }
            Action::Cut { after } => write!(f, "cut after {after} bytes"),
            Action::Delay(d) => write!(f, "delay {} ms", d.as_millis()),
            Action::Throttle { bytes_per_sec } => write!(f, "throttle to {bytes_per_sec} B/s"),
        }
    }
}

/// One rule as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    route: Route,
    #[serde(default)]
    skip: u64,
    first: Option<u64>,
    every: Option<u64>,
    status: Option<u16>,
    retry_after: Option<u64>,
    #[serde(default)]
    end_session: bool,
    cut_after: Option<u64>,
    delay_ms: Option<u64>,
    bytes_per_sec: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanSpec {
    #[serde(default)]
    rules: Vec<RuleSpec>,
    /// A file to append one JSON line per request to.
    log: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum When {
    Always,
    First(u64),
    Every(u64),
}

#[derive(Debug)]
struct Rule {
    route: Route,
    skip: u64,
    when: When,
    action: Action,
    /// Requests to the route so far; atomic, as requests arrive on many threads.
    seen: AtomicU64,
}

impl Rule {
    fn from_spec(spec: RuleSpec) -> Result<Rule> {
        let when = match (spec.first, spec.every) {
            (Some(_), Some(_)) => bail!("`first` and `every` exclude each other"),
            (Some(0), None) | (None, Some(0)) => bail!("`first` and `every` start at 1"),
            (Some(n), None) => When::First(n),
            (None, Some(k)) => When::Every(k),
            (None, None) => When::Always,
        };
        let action = match (
            spec.status,
            spec.cut_after,
            spec.delay_ms,
            spec.bytes_per_sec,
        ) {
            (Some(status), None, None, None) => {
                let status = StatusCode::from_u16(status)
                    .ok()
                    .filter(|s| s.is_client_error() || s.is_server_error())
                    .with_context(|| format!("`status` {status} is not an error status"))?;
                if spec.end_session && status != StatusCode::UNAUTHORIZED {
                    bail!("`end_session` goes with status 401");
                }
                Action::Status {
                    status,
                    retry_after: spec.retry_after,
                    end_session: spec.end_session,
                }
            }
            (None, Some(after), None, None) => Action::Cut { after },
            (None, None, Some(ms), None) => Action::Delay(Duration::from_millis(ms)),
            (None, None, None, Some(0)) => bail!("`bytes_per_sec` must be at least 1"),
            (None, None, None, Some(rate)) => Action::Throttle {
                bytes_per_sec: rate,
            },
            _ => bail!(
                "a rule takes exactly one of `status`, `cut_after`, `delay_ms` and \
                 `bytes_per_sec`"
            ),
        };
        if !matches!(action, Action::Status { .. })
            && (spec.retry_after.is_some() || spec.end_session)
        {
            bail!("`retry_after` and `end_session` go with `status`");
        }
        Ok(Rule {
            route: spec.route,
            skip: spec.skip,
            when,
            action,
            seen: AtomicU64::new(0),
        })
    }

    /// Counts one request to the rule's route; whether the rule matches it.
    fn count(&self) -> bool {
        let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        let Some(m) = n.checked_sub(self.skip).filter(|m| *m > 0) else {
            return false;
        };
        match self.when {
            When::Always => true,
            When::First(first) => m <= first,
            When::Every(k) => m % k == 0,
        }
    }
}

/// What a throttled server's sockets may hold unread (the kernel doubles it).
const SLOW_LINK_BUFFER: usize = 64 * 1024;

/// A loaded plan: its rules with their counters, and the request log.
pub struct FaultPlan {
    rules: Vec<Rule>,
    log: Option<Mutex<std::fs::File>>,
}

impl FaultPlan {
    pub fn load(path: &Path) -> Result<FaultPlan> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the fault plan `{}`", path.display()))?;
        FaultPlan::parse(&text)
            .with_context(|| format!("the fault plan `{}` is not valid", path.display()))
    }

    pub fn parse(text: &str) -> Result<FaultPlan> {
        let spec: PlanSpec = serde_json::from_str(text)?;
        let rules = spec
            .rules
            .into_iter()
            .enumerate()
            .map(|(i, rule)| Rule::from_spec(rule).with_context(|| format!("rule {}", i + 1)))
            .collect::<Result<Vec<_>>>()?;
        let log = match spec.log {
            Some(path) => Some(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .with_context(|| format!("cannot open the request log `{}`", path.display()))?,
            )),
            None => None,
        };
        Ok(FaultPlan { rules, log })
    }

    /// How many rules the plan holds.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The receive buffer for the server's sockets, when some rule reads uploads to
    /// storage slowly (a `bytes_per_sec` on `s3_post`). A slow link holds little in
    /// flight, but the kernel grows a socket's receive buffer (to 32 MiB here) while
    /// the throttle reads it at its pace: the client would hand over MiBs more than
    /// the link carried, in bursts, and its progress would run ahead of the link.
    pub fn receive_buffer(&self) -> Option<usize> {
        self.rules
            .iter()
            .any(|r| r.route == Route::S3Post && matches!(r.action, Action::Throttle { .. }))
            .then_some(SLOW_LINK_BUFFER)
    }

    /// The action for the next request to `route`: every rule of the route counts
    /// it, and the first that matches acts.
    pub fn action_for(&self, route: Route) -> Option<Action> {
        let mut chosen = None;
        for rule in self.rules.iter().filter(|r| r.route == route) {
            if rule.count() && chosen.is_none() {
                chosen = Some(rule.action);
            }
        }
        chosen
    }

    /// One line of the request log: when it came, the route, the request line, every
    /// header as sent (this is a test aid: tokens are written as they are) and the fault.
    pub(super) fn log(&self, route: Route, req: &Request, action: Option<Action>) {
        let Some(file) = &self.log else { return };
        let headers: Vec<(&str, String)> = req
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let line = json!({
            "at_ms": crate::server::state::now_ms(),
            "route": route,
            "method": req.method().as_str(),
            "uri": req.uri().to_string(),
            "headers": headers,
            "fault": action.map(|a| a.to_string()),
        });
        let line = format!("{line}\n");
        let mut file = file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // One write per line, so that a test reading the log meanwhile sees whole
        // lines; a line that cannot be written must not fail the request it describes.
        let _ = file.write_all(line.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn plan(rules: serde_json::Value) -> FaultPlan {
        FaultPlan::parse(&json!({ "rules": rules }).to_string()).unwrap()
    }

    #[test]
    fn only_a_throttle_on_uploads_keeps_receive_buffers_small() {
        let throttled = |rules| plan(rules).receive_buffer();
        assert_eq!(
            throttled(json!([{"route": "s3_post", "first": 1, "bytes_per_sec": 1000}])),
            Some(SLOW_LINK_BUFFER)
        );
        assert_eq!(
            throttled(json!([{"route": "s3_get", "bytes_per_sec": 1000}])),
            None
        );
        assert_eq!(
            throttled(json!([{"route": "s3_post", "status": 503}])),
            None
        );
        assert_eq!(throttled(json!([])), None);
    }

    /// Which of the next `n` requests to `route` get an action.
    fn hits(plan: &FaultPlan, route: Route, n: usize) -> Vec<usize> {
        (1..=n)
            .filter(|_| plan.action_for(route).is_some())
            .collect()
    }

    #[test]
    fn first_every_skip_and_always() {
        let p = plan(json!([{"route": "create", "first": 2, "status": 503}]));
        assert_eq!(hits(&p, Route::Create, 6), [1, 2]);
        let p = plan(json!([{"route": "list", "every": 3, "status": 500}]));
        assert_eq!(hits(&p, Route::List, 10), [3, 6, 9]);
        let p = plan(json!([{"route": "info", "skip": 3, "first": 2, "status": 500}]));
        assert_eq!(hits(&p, Route::Info, 8), [4, 5]);
        let p = plan(json!([{"route": "info", "skip": 2, "every": 2, "status": 500}]));
        assert_eq!(hits(&p, Route::Info, 8), [4, 6, 8]);
        let p = plan(json!([{"route": "s3_get", "delay_ms": 5}]));
        assert_eq!(hits(&p, Route::S3Get, 3), [1, 2, 3]);
        let p = plan(json!([{"route": "s3_post", "bytes_per_sec": 1000}]));
        assert_eq!(
            p.action_for(Route::S3Post),
            Some(Action::Throttle {
                bytes_per_sec: 1000
            })
        );
    }

    #[test]
    fn rules_count_only_their_route_and_the_first_match_acts() {
        let p = plan(json!([
            {"route": "s3_post", "first": 1, "status": 503},
            {"route": "s3_post", "first": 2, "cut_after": 10},
            {"route": "delete", "status": 500},
        ]));
        let status = |s: u16| Action::Status {
            status: StatusCode::from_u16(s).unwrap(),
            retry_after: None,
            end_session: false,
        };
        assert_eq!(p.action_for(Route::Create), None);
        assert_eq!(p.action_for(Route::S3Post), Some(status(503)));
        // The second rule counted the first request too: this is its second.
        assert_eq!(p.action_for(Route::S3Post), Some(Action::Cut { after: 10 }));
        assert_eq!(p.action_for(Route::S3Post), None);
        assert_eq!(p.action_for(Route::Delete), Some(status(500)));
    }

    #[test]
    fn counters_hold_under_concurrency() {
        let p = Arc::new(plan(
            json!([{"route": "create", "first": 100, "status": 503}]),
        ));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let p = p.clone();
                std::thread::spawn(move || hits(&p, Route::Create, 50).len())
            })
            .collect();
        let total: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(total, 100);
    }

    #[test]
    fn bad_plans_are_refused() {
        for rules in [
            json!([{"route": "create"}]),
            json!([{"route": "create", "status": 503, "delay_ms": 1}]),
            json!([{"route": "create", "status": 200}]),
            json!([{"route": "create", "status": 503, "first": 1, "every": 2}]),
            json!([{"route": "create", "status": 503, "every": 0}]),
            json!([{"route": "create", "status": 503, "end_session": true}]),
            json!([{"route": "create", "cut_after": 5, "retry_after": 2}]),
            json!([{"route": "s3_get", "bytes_per_sec": 0}]),
            json!([{"route": "s3_get", "bytes_per_sec": 10, "delay_ms": 1}]),
            json!([{"route": "nowhere", "status": 503}]),
            json!([{"route": "create", "status": 503, "typo": 1}]),
        ] {
            assert!(
                FaultPlan::parse(&json!({ "rules": rules }).to_string()).is_err(),
                "{rules}"
            );
        }
        assert!(FaultPlan::parse("{}").unwrap().is_empty());
    }

    #[test]
    fn requests_map_to_routes() {
        let uid = "0123456789abcdef0123456789abcdef00";
        let cases = [
            (
                Method::POST,
                "/session.json".to_string(),
                Some(Route::Session),
            ),
            (Method::POST, "/blobs".into(), Some(Route::Create)),
            (Method::GET, "/blobs.json".into(), Some(Route::List)),
            (Method::GET, "/blobs/7".into(), Some(Route::Info)),
            (Method::GET, format!("/blobs/{uid}"), Some(Route::Download)),
            (
                Method::GET,
                format!("/blobs/{uid}/download"),
                Some(Route::Download),
            ),
            (
                Method::GET,
                format!("/blobs/{uid}/object"),
                Some(Route::Object),
            ),
            (
                Method::PUT,
                "/blobs/7/complete.json".into(),
                Some(Route::Complete),
            ),
            (
                Method::POST,
                "/blobs/7/complete".into(),
                Some(Route::Complete),
            ),
            (Method::PUT, "/blobs/7".into(), Some(Route::Rename)),
            (Method::DELETE, "/blobs/7".into(), Some(Route::Delete)),
            (Method::POST, format!("/{BUCKET}"), Some(Route::S3Post)),
            (Method::GET, format!("/{BUCKET}/{uid}"), Some(Route::S3Get)),
            (Method::HEAD, format!("/{BUCKET}/{uid}"), Some(Route::S3Get)),
            (Method::GET, format!("/blobs/{uid}.json"), Some(Route::Info)),
            (Method::POST, "/login.json".into(), Some(Route::Session)),
            (Method::DELETE, "/login".into(), Some(Route::Session)),
            (Method::GET, "/elsewhere".into(), None),
            (Method::DELETE, format!("/{BUCKET}/{uid}"), None),
        ];
        for (method, path, route) in cases {
            assert_eq!(Route::of(&method, &path), route, "{method} {path}");
        }
    }
}
