//! The OTLP metrics export's task (`OTEL_METRICS_EXPORTER=otlp`): every interval it collects
//! what `/metrics` shows and pushes it to the collector. It runs beside the app and never in its
//! way: a collector that is down or slow costs that export (logged and counted in
//! `durafn_metric_exports_failed_total`), not a turn; the last export is sent on shutdown.

use std::sync::Arc;

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::app::state::HostState;
use crate::config::MetricsExportConfig;
use crate::error::HostError;

/// The running export; [`MetricsExport::stop`] sends a last one and ends it.
pub(crate) struct MetricsExport {
    stop: Arc<Notify>,
    task: JoinHandle<()>,
}

impl MetricsExport {
    /// Starts exporting if `config` turns it on; a host built without the `otel` feature
    /// refuses to.
    pub(crate) fn start(
        config: &MetricsExportConfig,
        state: &HostState,
        service: &str,
    ) -> Result<Option<Self>, HostError> {
        if !config.enabled {
            return Ok(None);
        }
        #[cfg(feature = "otel")]
        {
            let target = crate::app::telemetry::otlp_metrics::MetricsTarget::new(
                config,
                service,
                &state.host_id,
            );
            let stop = Arc::new(Notify::new());
            let interval = config.interval;
            let task = tokio::spawn({
                let stop = stop.clone();
                let state = state.clone();
                async move {
                    loop {
                        let last = tokio::select! {
                            () = tokio::time::sleep(interval) => false,
                            () = stop.notified() => true,
                        };
                        export(&state, &target).await;
                        if last {
                            return;
                        }
                    }
                }
            });
            Ok(Some(Self { stop, task }))
        }
        #[cfg(not(feature = "otel"))]
        {
            let _ = (state, service);
            Err(HostError::Tracing(
                "this host was built without the `otel` feature, so it cannot export metrics over OTLP"
                    .into(),
            ))
        }
    }

    /// Sends the last export (bounded by the export timeout) and stops.
    pub(crate) async fn stop(self) {
        self.stop.notify_one();
        let _ = self.task.await;
    }
}

#[cfg(feature = "otel")]
async fn export(state: &HostState, target: &crate::app::telemetry::otlp_metrics::MetricsTarget) {
    let families = match crate::api::metrics::collect(state).await {
        Ok(families) => families,
        Err(e) => {
            state.telemetry.metric_export_failed();
            tracing::warn!(error = ?e, "the metrics could not be collected for export");
            return;
        }
    };
    if let Err(e) = target.send(&families, std::time::SystemTime::now()).await {
        state.telemetry.metric_export_failed();
        tracing::warn!(error = %e, "the OTLP collector did not take the metrics");
    }
}
