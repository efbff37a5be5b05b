//! Every documented key of host.json 2.0, as the host knows it: its shape, and whether durafn
//! honours it.
//!
//! Sources: the SchemaStore schema of host.json (`version-2`), the Azure Functions host.json
//! reference, and the Durable Functions host.json reference (its 2.x and 1.x examples, and the
//! extension's `DurableTaskOptions`, `AzureStorageOptions`, `TraceOptions`,
//! `NotificationOptions` and `HttpOptions`). Subtrees that configure other extensions
//! (Service Bus, Event Hubs, Cosmos DB, …) or Application Insights are taken whole: durafn has
//! none of them, so their inner keys are neither checked nor used.

/// The shape a value must have.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// `true` or `false` (or the strings `"true"`, `"false"`, as .NET configuration reads them).
    Bool,
    /// An integer of at least this (or a string holding one).
    Int(i64),
    /// Any number.
    Number,
    /// A string.
    Str,
    /// A .NET time span: `[d.]hh:mm[:ss[.fff]]`.
    TimeSpan,
    /// `functionTimeout`: a time span, or `-1` for no limit.
    Timeout,
    /// An array of strings.
    Strings,
    /// An array of integers.
    Ints,
    /// An object of category → log level (`logging.logLevel`).
    Levels,
    /// An object with these keys.
    Object(&'static [Key]),
    /// Anything: a subtree durafn takes whole.
    Any,
}

/// What durafn does with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Read and used.
    Honoured,
    /// Accepted (its value checked) and reported at start-up as not used.
    Ignored,
    /// Accepted and not worth reporting (`$schema`).
    Silent,
}

/// One key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Key {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) role: Role,
}

const fn honoured(name: &'static str, kind: Kind) -> Key {
    Key {
        name,
        kind,
        role: Role::Honoured,
    }
}

const fn ignored(name: &'static str, kind: Kind) -> Key {
    Key {
        name,
        kind,
        role: Role::Ignored,
    }
}

use Kind::{Any, Bool, Int, Ints, Levels, Number, Object, Str, Strings, TimeSpan, Timeout};

/// The top level of host.json.
pub(crate) const ROOT: &[Key] = &[
    Key {
        name: "$schema",
        kind: Str,
        role: Role::Silent,
    },
    honoured("version", Str),
    honoured("functionTimeout", Timeout),
    honoured("extensions", Object(EXTENSIONS)),
    ignored("logging", Object(LOGGING)),
    ignored("extensionBundle", Object(EXTENSION_BUNDLE)),
    ignored("aggregator", Object(AGGREGATOR)),
    ignored("functions", Strings),
    ignored("healthMonitor", Object(HEALTH_MONITOR)),
    ignored(
        "languageWorker",
        Object(&[ignored("workersDirectory", Str)]),
    ),
    ignored("managedDependency", Object(&[ignored("enabled", Bool)])),
    ignored("retry", Object(RETRY)),
    ignored("customHandler", Object(CUSTOM_HANDLER)),
    ignored("singleton", Object(SINGLETON)),
    ignored("watchDirectories", Strings),
    ignored("watchFiles", Strings),
    ignored("concurrency", Object(CONCURRENCY)),
    ignored("sendCanceledInvocationsToWorker", Bool),
    ignored("telemetryMode", Str),
];

const LOGGING: &[Key] = &[
    ignored("logLevel", Levels),
    ignored("fileLoggingMode", Str),
    ignored("applicationInsights", Any),
    ignored(
        "console",
        Object(&[ignored("isEnabled", Bool), ignored("DisableColors", Bool)]),
    ),
];

const EXTENSION_BUNDLE: &[Key] = &[ignored("id", Str), ignored("version", Str)];

const AGGREGATOR: &[Key] = &[
    ignored("batchSize", Int(1)),
    ignored("flushTimeout", TimeSpan),
];

const HEALTH_MONITOR: &[Key] = &[
    ignored("enabled", Bool),
    ignored("healthCheckInterval", TimeSpan),
    ignored("healthCheckWindow", TimeSpan),
    ignored("healthCheckThreshold", Int(1)),
    ignored("counterThreshold", Number),
];

const RETRY: &[Key] = &[
    ignored("strategy", Str),
    ignored("maxRetryCount", Int(-1)),
    ignored("delayInterval", TimeSpan),
    ignored("minimumInterval", TimeSpan),
    ignored("maximumInterval", TimeSpan),
];

const CUSTOM_HANDLER: &[Key] = &[
    ignored(
        "description",
        Object(&[
            ignored("defaultExecutablePath", Str),
            ignored("workingDirectory", Str),
            ignored("arguments", Strings),
        ]),
    ),
    ignored("enableForwardingHttpRequest", Bool),
];

const SINGLETON: &[Key] = &[
    ignored("lockPeriod", TimeSpan),
    ignored("listenerLockPeriod", TimeSpan),
    ignored("listenerLockRecoveryPollingInterval", TimeSpan),
    ignored("lockAcquisitionTimeout", TimeSpan),
    ignored("lockAcquisitionPollingInterval", TimeSpan),
];

const CONCURRENCY: &[Key] = &[
    ignored("dynamicConcurrencyEnabled", Bool),
    ignored("snapshotPersistenceEnabled", Bool),
    ignored("maximumFunctionConcurrency", Int(1)),
];

const EXTENSIONS: &[Key] = &[
    honoured("http", Object(HTTP)),
    honoured("durableTask", Object(DURABLE_TASK)),
    honoured("queues", Object(QUEUES)),
    ignored("blobs", Any),
    ignored("serviceBus", Any),
    ignored("eventHubs", Any),
    ignored("cosmosDB", Any),
    ignored("sendGrid", Any),
    ignored("eventGrid", Any),
    ignored("kafka", Any),
    ignored("rabbitMQ", Any),
    ignored("signalR", Any),
    ignored("twilio", Any),
    ignored("tables", Any),
    ignored("sql", Any),
    ignored("mcp", Any),
];

const HTTP: &[Key] = &[
    honoured("routePrefix", Str),
    honoured("maxRequestBodySize", Int(1)),
    ignored("maxConcurrentRequests", Int(-1)),
    ignored("maxOutstandingRequests", Int(-1)),
    ignored("dynamicThrottlesEnabled", Bool),
    ignored(
        "hsts",
        Object(&[
            ignored("isEnabled", Bool),
            ignored("excludedHosts", Strings),
            ignored("includeSubDomains", Bool),
            ignored("maxAge", Str),
            ignored("preload", Bool),
        ]),
    ),
    ignored("customHeaders", Any),
];

/// `extensions.durableTask`: the Durable Functions 2.x options, and the 1.x names some apps
/// still carry.
const DURABLE_TASK: &[Key] = &[
    honoured("hubName", Str),
    honoured("storageProvider", Object(STORAGE_PROVIDER)),
    honoured("maxConcurrentActivityFunctions", Int(1)),
    honoured("maxConcurrentOrchestratorFunctions", Int(1)),
    honoured("instanceCacheSize", Int(0)),
    honoured("maxPayloadSize", Int(1)),
    honoured("localRpcEndpointEnabled", Bool),
    honoured("defaultVersion", Str),
    honoured(
        "dashboard",
        Object(&[honoured("enabled", Bool), honoured("readOnly", Bool)]),
    ),
    honoured("versionMatchStrategy", Str),
    honoured("versionFailureStrategy", Str),
    honoured("tracing", Object(TRACING)),
    ignored(
        "notifications",
        Object(&[ignored("eventGrid", Object(EVENT_GRID))]),
    ),
    ignored(
        "httpSettings",
        Object(&[
            ignored("defaultAsyncRequestSleepTimeMilliseconds", Int(0)),
            ignored("useForwardedHost", Bool),
        ]),
    ),
    ignored("maxConcurrentEntityFunctions", Int(1)),
    ignored("maxEntityOperationBatchSize", Int(1)),
    ignored("extendedSessionsEnabled", Bool),
    ignored("extendedSessionIdleTimeoutInSeconds", Int(0)),
    ignored("maxOrchestrationActions", Int(1)),
    ignored("overridableExistingInstanceStates", Str),
    ignored("entityMessageReorderWindowInMinutes", Int(0)),
    ignored("useGracefulShutdown", Bool),
    ignored("rollbackEntityOperationsOnExceptions", Bool),
    ignored("throwStatusExceptionsOnRaiseEvent", Bool),
    ignored("useAppLease", Bool),
    ignored(
        "appLeaseOptions",
        Object(&[
            ignored("renewInterval", TimeSpan),
            ignored("acquireInterval", TimeSpan),
            ignored("leaseInterval", TimeSpan),
        ]),
    ),
    ignored("storeInputsInOrchestrationHistory", Bool),
    ignored("useTablePartitionManagement", Bool),
    // Durable Functions 1.x kept these directly under durableTask.
    ignored("azureStorageConnectionStringName", Str),
    ignored("controlQueueBatchSize", Int(1)),
    ignored("controlQueueBufferThreshold", Int(1)),
    ignored("controlQueueVisibilityTimeout", TimeSpan),
    ignored("workItemQueueVisibilityTimeout", TimeSpan),
    ignored("partitionCount", Int(1)),
    ignored("maxQueuePollingInterval", TimeSpan),
    ignored("trackingStoreConnectionStringName", Str),
    ignored("trackingStoreNamePrefix", Str),
    ignored("traceInputsAndOutputs", Bool),
    ignored("logReplayEvents", Bool),
    ignored("eventGridTopicEndpoint", Str),
    ignored("eventGridKeySettingName", Str),
    ignored("eventGridPublishRetryCount", Int(0)),
    ignored("eventGridPublishRetryInterval", TimeSpan),
    ignored("eventGridPublishEventTypes", Strings),
];

/// `extensions.queues`, the queue triggers' settings (all honoured).
const QUEUES: &[Key] = &[
    honoured("maxPollingInterval", TimeSpan),
    honoured("visibilityTimeout", TimeSpan),
    honoured("batchSize", Int(1)),
    honoured("maxDequeueCount", Int(1)),
    honoured("newBatchThreshold", Int(0)),
    honoured("messageEncoding", Str),
];

/// `storageProvider`: durafn's providers (`type` sqlite, memory, postgres) and the keys of the
/// Azure Storage provider, which real apps carry and durafn replaces with its SQLite task hub.
pub(crate) const STORAGE_PROVIDER: &[Key] = &[
    honoured("type", Str),
    honoured("path", Str),
    honoured("durability", Str),
    honoured("connectionStringName", Str),
    ignored("connectionName", Str),
    ignored("controlQueueBatchSize", Int(1)),
    ignored("controlQueueBufferThreshold", Int(1)),
    ignored("controlQueueVisibilityTimeout", TimeSpan),
    ignored("workItemQueueVisibilityTimeout", TimeSpan),
    ignored("fetchLargeMessagesAutomatically", Bool),
    ignored("maxQueuePollingInterval", TimeSpan),
    ignored("partitionCount", Int(1)),
    ignored("trackingStoreConnectionStringName", Str),
    ignored("trackingStoreConnectionName", Str),
    ignored("trackingStoreNamePrefix", Str),
    ignored("useLegacyPartitionManagement", Bool),
    ignored("useTablePartitionManagement", Bool),
    ignored("allowReplayingTerminalInstances", Bool),
    ignored("queueClientMessageEncoding", Str),
];

const TRACING: &[Key] = &[
    ignored("traceInputsAndOutputs", Bool),
    ignored("traceReplayEvents", Bool),
    ignored("allowVerboseLinuxTelemetry", Bool),
    honoured("distributedTracingEnabled", Bool),
    honoured("traceUrlTemplate", Str),
    ignored("distributedTracingProtocol", Str),
    ignored("version", Str),
];

const EVENT_GRID: &[Key] = &[
    ignored("topicEndpoint", Str),
    ignored("keySettingName", Str),
    ignored("publishRetryCount", Int(0)),
    ignored("publishRetryInterval", TimeSpan),
    ignored("publishRetryHttpStatus", Ints),
    ignored("publishEventTypes", Strings),
];

/// The log levels of `logging.logLevel`, as .NET names them.
pub(crate) const LEVELS: &[&str] = &[
    "Trace",
    "Debug",
    "Information",
    "Warning",
    "Error",
    "Critical",
    "None",
];

/// The key of `keys` named `name`, ignoring ASCII case (as the Functions host's configuration
/// binding does).
pub(crate) fn find<'a>(keys: &'a [Key], name: &str) -> Option<&'a Key> {
    keys.iter().find(|k| k.name.eq_ignore_ascii_case(name))
}

/// The known key a misspelt `name` most likely meant: the closest by edit distance (ignoring
/// case, a transposition counting once), if it is close enough to be a typo rather than a key
/// durafn does not know.
pub(crate) fn suggestion(keys: &[Key], name: &str) -> Option<&'static str> {
    let name = name.to_ascii_lowercase();
    let allowed = match name.chars().count() {
        0..=4 => 1,
        5..=10 => 2,
        _ => 3,
    };
    keys.iter()
        .map(|k| (distance(&name, &k.name.to_ascii_lowercase()), k.name))
        .filter(|(d, _)| *d <= allowed)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// The optimal string alignment distance (Levenshtein with adjacent transpositions).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_are_told_from_unknown_keys() {
        assert_eq!(distance("hubnmae", "hubname"), 1);
        assert_eq!(
            suggestion(DURABLE_TASK, "maxConcurrentActivityFunctionz"),
            Some("maxConcurrentActivityFunctions")
        );
        assert_eq!(suggestion(ROOT, "functionTimout"), Some("functionTimeout"));
        assert_eq!(suggestion(ROOT, "extension"), Some("extensions"));
        assert_eq!(suggestion(DURABLE_TASK, "hubNmae"), Some("hubName"));
        assert_eq!(suggestion(EXTENSIONS, "durabletask2"), Some("durableTask"));
        // Far from every key: not a typo but a key durafn does not know.
        assert_eq!(suggestion(EXTENSIONS, "webPubSub"), None);
        assert_eq!(suggestion(ROOT, "x"), None);
    }

    #[test]
    fn names_are_unique_within_each_object() {
        fn check(keys: &[Key], path: &str) {
            for (i, k) in keys.iter().enumerate() {
                assert!(
                    keys[..i]
                        .iter()
                        .all(|o| !o.name.eq_ignore_ascii_case(k.name)),
                    "{path}.{} twice",
                    k.name
                );
                if let Kind::Object(children) = k.kind {
                    check(children, &format!("{path}.{}", k.name));
                }
            }
        }
        check(ROOT, "");
    }
}
