//! Query strings and form bodies, and the instance list's filter: read from the address and
//! written back into links, so that a view can be shared by copying its address.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use durafn_core::RuntimeStatus;
use durafn_store::InstanceFilter;
use durafn_store::inspect::{InstanceQuery, SortOrder};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::error::DashboardError;

/// What stays unescaped in a query value (RFC 3986 unreserved characters).
const VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Escapes a query value.
pub(crate) fn escape(value: &str) -> String {
    utf8_percent_encode(value, VALUE).to_string()
}

fn decode_pairs(text: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// The pairs of a query string, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueryPairs(pub(crate) Vec<(String, String)>);

impl QueryPairs {
    pub(crate) fn parse(query: Option<&str>) -> Self {
        Self(query.map(decode_pairs).unwrap_or_default())
    }

    /// The first non-empty value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every non-empty value of `name`.
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn without(&self, name: &str) -> Self {
        Self(self.0.iter().filter(|(k, _)| k != name).cloned().collect())
    }

    /// `?a=1&b=2`, or nothing when empty.
    pub(crate) fn to_query_string(&self) -> String {
        if self.0.is_empty() {
            return String::new();
        }
        let pairs: Vec<String> = self
            .0
            .iter()
            .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
            .collect();
        format!("?{}", pairs.join("&"))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _: &S,
    ) -> Result<Self, std::convert::Infallible> {
        Ok(Self::parse(parts.uri.query()))
    }
}

/// The fields of a form body (`application/x-www-form-urlencoded`), in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fields(pub(crate) QueryPairs);

impl Fields {
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name)
    }
}

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = Response;

    async fn from_request(req: Request, _: &S) -> Result<Self, Response> {
        let bytes = axum::body::to_bytes(req.into_body(), 1024 * 1024)
            .await
            .map_err(|_| {
                DashboardError::BadRequest("The form is too large (at most 1 MiB).".into())
                    .into_response()
            })?;
        let text = String::from_utf8_lossy(&bytes);
        Ok(Self(QueryPairs(decode_pairs(&text))))
    }
}

/// The created-time presets of the list, with their query value and label.
pub(crate) const PRESETS: [(&str, &str, i64); 8] = [
    ("15m", "Last 15 minutes", 15 * 60),
    ("1h", "Last hour", 3600),
    ("6h", "Last 6 hours", 6 * 3600),
    ("24h", "Last 24 hours", 24 * 3600),
    ("7d", "Last 7 days", 7 * 86400),
    ("30d", "Last 30 days", 30 * 86400),
    ("90d", "Last 90 days", 90 * 86400),
    ("custom", "Custom range", 0),
];

/// The page sizes offered.
pub(crate) const PAGE_SIZES: [usize; 4] = [25, 50, 100, 200];

/// The instance list's filter, as it travels in the address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ListFilter {
    pub(crate) statuses: Vec<RuntimeStatus>,
    pub(crate) name: String,
    pub(crate) prefix: String,
    /// A preset of [`PRESETS`] (`""`: any time).
    pub(crate) range: String,
    /// The free range (`datetime-local` values, UTC), with `range=custom`.
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) text: String,
    pub(crate) oldest_first: bool,
    pub(crate) size: usize,
    pub(crate) previews: bool,
    pub(crate) refresh: bool,
}

/// Reads a time from a form: `datetime-local` (taken as UTC) or RFC 3339.
pub(crate) fn parse_time(label: &str, v: &str) -> Result<DateTime<Utc>, DashboardError> {
    let v = v.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(t.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(v, f) {
            return Ok(t.and_utc());
        }
    }
    Err(DashboardError::BadRequest(format!(
        "{label} is not a date and time (use YYYY-MM-DDTHH:MM, UTC): {v:?}"
    )))
}

impl ListFilter {
    pub(crate) fn from_query(q: &QueryPairs) -> Result<Self, DashboardError> {
        let mut statuses = Vec::new();
        for v in q.all("status") {
            for part in v.split(',').filter(|p| !p.is_empty()) {
                let s = RuntimeStatus::parse(part).ok_or_else(|| {
                    DashboardError::BadRequest(format!("Unknown status {part:?}."))
                })?;
                if !statuses.contains(&s) {
                    statuses.push(s);
                }
            }
        }
        let range = q.get("range").unwrap_or("").to_string();
        if !range.is_empty() && !PRESETS.iter().any(|(v, _, _)| *v == range) {
            return Err(DashboardError::BadRequest(format!(
                "Unknown time range {range:?}."
            )));
        }
        let size = match q.get("size") {
            None => 50,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| DashboardError::BadRequest("size must be 1 to 1000.".into()))?,
        };
        let f = Self {
            statuses,
            name: q.get("name").unwrap_or("").trim().to_string(),
            prefix: q.get("prefix").unwrap_or("").trim().to_string(),
            range,
            from: q.get("from").unwrap_or("").to_string(),
            to: q.get("to").unwrap_or("").to_string(),
            text: q.get("q").unwrap_or("").trim().to_string(),
            oldest_first: q.get("order") == Some("oldest"),
            size,
            previews: q.get("previews") == Some("1"),
            refresh: q.get("refresh") == Some("1"),
        };
        f.query(crate::format::now())?;
        Ok(f)
    }

    /// The store query for this filter at time `now`.
    pub(crate) fn query(&self, now: DateTime<Utc>) -> Result<InstanceQuery, DashboardError> {
        let mut filter = InstanceFilter {
            statuses: self.statuses.clone(),
            ..InstanceFilter::default()
        };
        if !self.name.is_empty() {
            filter.name = Some(self.name.clone());
        }
        if !self.prefix.is_empty() {
            filter.instance_id_prefix = Some(self.prefix.clone());
        }
        match self.range.as_str() {
            "" => {}
            "custom" => {
                if !self.from.is_empty() {
                    filter.created_from = Some(parse_time("From", &self.from)?);
                }
                if !self.to.is_empty() {
                    filter.created_to = Some(parse_time("To", &self.to)?);
                }
            }
            preset => {
                let secs = PRESETS
                    .iter()
                    .find(|(v, _, _)| *v == preset)
                    .map_or(0, |(_, _, s)| *s);
                filter.created_from = Some(now - TimeDelta::seconds(secs));
            }
        }
        Ok(InstanceQuery {
            filter,
            custom_status_contains: (!self.text.is_empty()).then(|| self.text.clone()),
            orchestrations_only: true,
            order: if self.oldest_first {
                SortOrder::OldestFirst
            } else {
                SortOrder::NewestFirst
            },
        })
    }

    /// The filter as query pairs (defaults left out).
    pub(crate) fn pairs(&self) -> QueryPairs {
        let mut p: Vec<(String, String)> = Vec::new();
        let mut add = |k: &str, v: &str| {
            if !v.is_empty() {
                p.push((k.into(), v.into()));
            }
        };
        for s in &self.statuses {
            add("status", s.as_str());
        }
        add("name", &self.name);
        add("prefix", &self.prefix);
        add("range", &self.range);
        if self.range == "custom" {
            add("from", &self.from);
            add("to", &self.to);
        }
        add("q", &self.text);
        if self.oldest_first {
            add("order", "oldest");
        }
        if self.size != 50 {
            add("size", &self.size.to_string());
        }
        if self.previews {
            add("previews", "1");
        }
        if self.refresh {
            add("refresh", "1");
        }
        QueryPairs(p)
    }

    /// The address of the list with this filter.
    pub(crate) fn href(&self) -> String {
        format!(
            "{}/instances{}",
            crate::app::BASE,
            self.pairs().to_query_string()
        )
    }

    /// The same filter with one status switched on or off.
    pub(crate) fn toggling(&self, status: RuntimeStatus) -> Self {
        let mut f = self.clone();
        if let Some(i) = f.statuses.iter().position(|s| *s == status) {
            f.statuses.remove(i);
        } else {
            f.statuses.push(status);
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_survives_the_round_trip_through_its_address() {
        let q = QueryPairs::parse(Some(
            "status=Running&status=Failed&name=orchestrator-function&prefix=ab&range=custom\
             &from=2026-12-01T08%3A00&to=&q=copy+files&order=oldest&size=25&refresh=1",
        ));
        let f = ListFilter::from_query(&q).unwrap();
        assert_eq!(f.statuses, [RuntimeStatus::Running, RuntimeStatus::Failed]);
        assert_eq!(f.text, "copy files");
        let again = ListFilter::from_query(&f.pairs()).unwrap();
        assert_eq!(again, f);
        let query = f.query(crate::format::now()).unwrap();
        assert_eq!(query.order, SortOrder::OldestFirst);
        assert_eq!(
            query.filter.created_from.map(|t| t.to_rfc3339()),
            Some("2026-12-01T08:00:00+00:00".to_string())
        );
        assert!(ListFilter::from_query(&QueryPairs::parse(Some("status=Nope"))).is_err());
        assert!(ListFilter::from_query(&QueryPairs::parse(Some("range=custom&from=x"))).is_err());
        let preset = ListFilter::from_query(&QueryPairs::parse(Some("range=15m"))).unwrap();
        let now = crate::format::now();
        assert_eq!(
            preset.query(now).unwrap().filter.created_from,
            Some(now - TimeDelta::minutes(15))
        );
    }
}
