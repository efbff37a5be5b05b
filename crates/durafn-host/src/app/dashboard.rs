//! The dashboard (crate `durafn-dashboard`) as this host serves it: at `/dashboard`, opened by
//! the master key (to read and write), the `dashboard` system key (likewise) and the
//! `dashboard_readonly` system key (to read), over the host's own [`DurableClient`].
//!
//! [`DurableClient`]: durafn_runtime::DurableClient

use axum::Router;
use durafn_dashboard::{DashboardOptions, FunctionInfo, Role};

use crate::app::state::HostState;
use crate::config::HostConfig;
use crate::keys::{Access, DASHBOARD_KEY, DASHBOARD_READONLY_KEY, KeyScope, constant_time_eq};

/// The dashboard's router for this host, or `None` when host.json turns it off.
pub(crate) fn router(state: &HostState, config: &HostConfig) -> Option<Router> {
    if !config.dashboard.enabled {
        return None;
    }
    let keys = state.keys.clone();
    let authorize = std::sync::Arc::new(move |presented: &str| {
        // Every candidate is compared, whatever matched, so timing tells nothing.
        let master = keys.authorize(Some(presented), &Access::Admin);
        let matches = |name: &str| {
            keys.get(&KeyScope::System, name)
                .is_some_and(|k| constant_time_eq(presented.as_bytes(), k.as_bytes()))
        };
        let operator = matches(DASHBOARD_KEY);
        let viewer = matches(DASHBOARD_READONLY_KEY);
        if master || operator {
            Some(Role::Operator)
        } else if viewer {
            Some(Role::Viewer)
        } else {
            None
        }
    });
    let mut functions: Vec<FunctionInfo> = state
        .functions
        .iter()
        .map(|f| {
            let methods: Vec<&str> = f.methods.iter().map(|m| m.as_str()).collect();
            FunctionInfo {
                name: f.name.clone(),
                trigger: "httpTrigger".into(),
                detail: format!(
                    "{} {} ({})",
                    methods.join(","),
                    f.template.paths.first().map_or("", String::as_str),
                    f.trigger.auth_level.as_str()
                ),
                schedule_instance: None,
            }
        })
        .collect();
    functions.extend(state.queue_triggers.iter().map(|q| FunctionInfo {
        name: q.name.clone(),
        trigger: "queueTrigger".into(),
        detail: format!("queue {}", q.queue),
        schedule_instance: None,
    }));
    functions.extend(state.timer_triggers.iter().map(|t| FunctionInfo {
        name: t.name.clone(),
        trigger: "timerTrigger".into(),
        detail: format!("{} ({})", t.schedule, t.zone),
        schedule_instance: Some(crate::timers::schedule_instance_id(&t.name)),
    }));
    let registry = &state.registry;
    for (names, trigger) in [
        (
            crate::app::state::user_names(registry.orchestrator_names()),
            "orchestrationTrigger",
        ),
        (
            crate::app::state::user_names(registry.activity_names()),
            "activityTrigger",
        ),
        (registry.entity_names(), "entityTrigger"),
    ] {
        functions.extend(names.into_iter().map(|name| FunctionInfo {
            name,
            trigger: trigger.into(),
            detail: String::new(),
            schedule_instance: None,
        }));
    }
    let options = DashboardOptions {
        hub: state.hub.to_string(),
        read_only: config.dashboard.read_only,
        functions,
        orchestrators: registry.orchestrator_names(),
        trace_url_template: config.tracing.trace_url_template.clone(),
    };
    Some(durafn_dashboard::router(
        state.client.clone(),
        authorize,
        options,
    ))
}
