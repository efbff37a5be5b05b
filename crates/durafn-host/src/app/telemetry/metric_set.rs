//! The host's metrics as read at one moment, in a form both exporters take: `/metrics` renders it
//! as the Prometheus text format, the OTLP metrics exporter as OTLP data points.

use durafn_runtime::HistogramSnapshot;

/// `(label name, value)` pairs; values are bounded (statuses, queues, function names, routes).
pub(crate) type Labels = Vec<(&'static str, String)>;

/// What a family's points are.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Points {
    /// A monotonic count since the host started.
    Counter(Vec<(Labels, f64)>),
    /// A value as it is now.
    Gauge(Vec<(Labels, f64)>),
    /// A distribution since the host started.
    Histogram(Vec<(Labels, HistogramSnapshot)>),
}

/// One metric: its name (as in `docs/metrics.md`), help text and points.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Family {
    pub(crate) name: &'static str,
    pub(crate) help: &'static str,
    pub(crate) points: Points,
}

impl Family {
    /// A counter without labels.
    pub(crate) fn counter(name: &'static str, help: &'static str, value: f64) -> Self {
        Self {
            name,
            help,
            points: Points::Counter(vec![(Vec::new(), value)]),
        }
    }

    /// A gauge with one point per label set.
    pub(crate) fn gauge(
        name: &'static str,
        help: &'static str,
        points: Vec<(Labels, f64)>,
    ) -> Self {
        Self {
            name,
            help,
            points: Points::Gauge(points),
        }
    }

    /// A histogram with one distribution per label set.
    pub(crate) fn histogram(
        name: &'static str,
        help: &'static str,
        points: Vec<(Labels, HistogramSnapshot)>,
    ) -> Self {
        Self {
            name,
            help,
            points: Points::Histogram(points),
        }
    }
}
