//! Storage account settings from a connection string.
//!
//! The key is a secret: it is held in a type whose `Debug` prints
//! `<redacted>`, and no error built here quotes any value from the
//! connection string, only the names of its parts. A Key Vault reference
//! is resolved by the host before the string gets here, so the value
//! arrives as a plain connection string.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// The emulator's well-known account name.
pub const DEV_ACCOUNT_NAME: &str = "devstoreaccount1";
/// The emulator's well-known, published account key (not a secret).
pub const DEV_ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/// The emulator's blob endpoint.
pub const DEV_BLOB_ENDPOINT: &str = "http://127.0.0.1:10000/devstoreaccount1";
/// The emulator's queue endpoint.
pub const DEV_QUEUE_ENDPOINT: &str = "http://127.0.0.1:10001/devstoreaccount1";
/// The emulator's table endpoint.
pub const DEV_TABLE_ENDPOINT: &str = "http://127.0.0.1:10002/devstoreaccount1";

/// The suffix of the public cloud's endpoints, used when a connection
/// string names neither an endpoint nor an `EndpointSuffix`.
pub const DEFAULT_ENDPOINT_SUFFIX: &str = "core.windows.net";

/// Why a connection string or an account setting was refused. The message
/// names the offending part, never its value (values may be secrets).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The string names no account: neither `UseDevelopmentStorage=true`
    /// nor both `AccountName` and `AccountKey`.
    #[error(
        "invalid connection string: expected `UseDevelopmentStorage=true` or \
         `DefaultEndpointsProtocol=…;AccountName=…;AccountKey=…`"
    )]
    NoAccount,
    /// A part is malformed or not supported.
    #[error("invalid connection string: {0}")]
    Invalid(String),
}

impl ConfigError {
    /// What is wrong, without the "invalid connection string" prefix.
    pub fn reason(&self) -> String {
        match self {
            ConfigError::NoAccount => "expected `UseDevelopmentStorage=true` or \
                 `DefaultEndpointsProtocol=…;AccountName=…;AccountKey=…`"
                .to_owned(),
            ConfigError::Invalid(reason) => reason.clone(),
        }
    }
}

/// The storage services an account offers (files are not used by durafn).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// Blob storage.
    Blob,
    /// Queue storage.
    Queue,
    /// Table storage.
    Table,
}

impl Service {
    /// The service's name in default endpoint host names (`queue` in
    /// `myaccount.queue.core.windows.net`).
    pub fn host_label(self) -> &'static str {
        match self {
            Service::Blob => "blob",
            Service::Queue => "queue",
            Service::Table => "table",
        }
    }

    /// The connection string part that names this service's endpoint.
    pub fn endpoint_part(self) -> &'static str {
        match self {
            Service::Blob => "BlobEndpoint",
            Service::Queue => "QueueEndpoint",
            Service::Table => "TableEndpoint",
        }
    }

    fn dev_endpoint(self) -> &'static str {
        match self {
            Service::Blob => DEV_BLOB_ENDPOINT,
            Service::Queue => DEV_QUEUE_ENDPOINT,
            Service::Table => DEV_TABLE_ENDPOINT,
        }
    }
}

/// An account key, decoded. `Debug` never shows it.
#[derive(Clone)]
pub(crate) struct AccountKey(Vec<u8>);

impl AccountKey {
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where a service endpoint is: scheme, authority and base path
/// (path-style endpoints such as the emulator's carry the account name in
/// the path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `http` or `https`.
    pub scheme: String,
    /// `host[:port]`.
    pub authority: String,
    /// The path prefix without a trailing slash, often empty.
    pub base_path: String,
}

impl Endpoint {
    /// Parses `scheme://host[:port][/path]`.
    pub fn parse(url: &str) -> Result<Endpoint, ConfigError> {
        Endpoint::parse_part("the endpoint", url)
    }

    /// Parses an endpoint; errors name `part` (a connection string part
    /// such as `QueueEndpoint`), never the value.
    fn parse_part(part: &str, url: &str) -> Result<Endpoint, ConfigError> {
        let bad = |why: &str| ConfigError::Invalid(format!("{part} is not a valid URL: {why}"));
        let uri: http::Uri = url.trim().parse().map_err(|_| bad("cannot parse it"))?;
        let scheme = uri
            .scheme_str()
            .map(str::to_ascii_lowercase)
            .ok_or_else(|| bad("it has no scheme"))?;
        if scheme != "http" && scheme != "https" {
            return Err(bad("the scheme must be http or https"));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| bad("it has no host"))?
            .as_str()
            .to_owned();
        if authority.contains('@') {
            return Err(bad("user information is not supported"));
        }
        if uri.query().is_some() {
            return Err(bad("it must not have a query"));
        }
        let base_path = uri.path().trim_end_matches('/').to_owned();
        Ok(Endpoint {
            scheme,
            authority,
            base_path,
        })
    }

    /// The endpoint as a URL without a trailing slash.
    pub fn url(&self) -> String {
        format!("{}://{}{}", self.scheme, self.authority, self.base_path)
    }
}

/// A storage account: its name, key and service endpoints.
#[derive(Clone)]
pub struct AccountConfig {
    /// The account name.
    pub account: String,
    key: AccountKey,
    /// The blob endpoint.
    pub blob_endpoint: Endpoint,
    /// The queue endpoint.
    pub queue_endpoint: Endpoint,
    /// The table endpoint.
    pub table_endpoint: Endpoint,
}

impl fmt::Debug for AccountConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountConfig")
            .field("account", &self.account)
            .field("key", &self.key)
            .field("blob_endpoint", &self.blob_endpoint.url())
            .field("queue_endpoint", &self.queue_endpoint.url())
            .field("table_endpoint", &self.table_endpoint.url())
            .finish()
    }
}

impl AccountConfig {
    /// The local emulator with its well-known account.
    pub fn development() -> AccountConfig {
        let endpoint = |service: Service| {
            Endpoint::parse(service.dev_endpoint())
                .expect("the emulator's endpoints are valid URLs")
        };
        AccountConfig {
            account: DEV_ACCOUNT_NAME.to_owned(),
            key: AccountKey(
                BASE64
                    .decode(DEV_ACCOUNT_KEY)
                    .expect("the emulator's published key is base64"),
            ),
            blob_endpoint: endpoint(Service::Blob),
            queue_endpoint: endpoint(Service::Queue),
            table_endpoint: endpoint(Service::Table),
        }
    }

    /// An account from its name and key (`key_base64` as the portal shows
    /// it), with the public cloud's endpoints
    /// (`https://{account}.{service}.core.windows.net`); change them with
    /// [`AccountConfig::with_endpoint`].
    pub fn new(account: &str, key_base64: &str) -> Result<AccountConfig, ConfigError> {
        AccountConfig::with_suffix(account, key_base64, "https", DEFAULT_ENDPOINT_SUFFIX)
    }

    /// The same account with another endpoint for `service`.
    pub fn with_endpoint(
        mut self,
        service: Service,
        url: &str,
    ) -> Result<AccountConfig, ConfigError> {
        let endpoint = Endpoint::parse_part(service.endpoint_part(), url)?;
        match service {
            Service::Blob => self.blob_endpoint = endpoint,
            Service::Queue => self.queue_endpoint = endpoint,
            Service::Table => self.table_endpoint = endpoint,
        }
        Ok(self)
    }

    /// The endpoint of `service`.
    pub fn endpoint(&self, service: Service) -> &Endpoint {
        match service {
            Service::Blob => &self.blob_endpoint,
            Service::Queue => &self.queue_endpoint,
            Service::Table => &self.table_endpoint,
        }
    }

    /// The decoded key, for the signing module only.
    pub(crate) fn key(&self) -> &AccountKey {
        &self.key
    }

    fn with_suffix(
        account: &str,
        key_base64: &str,
        protocol: &str,
        suffix: &str,
    ) -> Result<AccountConfig, ConfigError> {
        if account.is_empty() || !account.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ConfigError::Invalid(
                "AccountName must be letters and digits".to_owned(),
            ));
        }
        let key = BASE64
            .decode(key_base64.trim())
            .map_err(|_| ConfigError::Invalid("AccountKey is not valid base64".to_owned()))?;
        if key.is_empty() {
            return Err(ConfigError::Invalid("AccountKey is empty".to_owned()));
        }
        let endpoint = |service: Service| {
            Endpoint::parse_part(
                "EndpointSuffix",
                &format!("{protocol}://{account}.{}.{suffix}", service.host_label()),
            )
        };
        Ok(AccountConfig {
            account: account.to_owned(),
            key: AccountKey(key),
            blob_endpoint: endpoint(Service::Blob)?,
            queue_endpoint: endpoint(Service::Queue)?,
            table_endpoint: endpoint(Service::Table)?,
        })
    }

    /// Parses `UseDevelopmentStorage=true` or
    /// `DefaultEndpointsProtocol=…;AccountName=…;AccountKey=…[;BlobEndpoint=…][;QueueEndpoint=…][;TableEndpoint=…][;EndpointSuffix=…]`.
    ///
    /// Part names are case-insensitive; a service without an endpoint part
    /// gets `{protocol}://{account}.{service}.{suffix}`; file endpoints are
    /// ignored. Errors name the offending part, never its value.
    pub fn parse(connection_string: &str) -> Result<AccountConfig, ConfigError> {
        let invalid = |msg: String| ConfigError::Invalid(msg);
        let mut dev = None;
        let mut protocol = None;
        let mut account = None;
        let mut key = None;
        let mut endpoints: Vec<(Service, &str)> = Vec::new();
        let mut suffix = None;
        for (index, part) in connection_string.split(';').enumerate() {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let Some((name, value)) = part.split_once('=') else {
                return Err(invalid(format!(
                    "part {} has no `=` (expected Name=value pairs separated by `;`)",
                    index + 1
                )));
            };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "usedevelopmentstorage" => dev = Some(value.eq_ignore_ascii_case("true")),
                "defaultendpointsprotocol" => protocol = Some(value.to_ascii_lowercase()),
                "accountname" => account = Some(value),
                "accountkey" => key = Some(value),
                "blobendpoint" => endpoints.push((Service::Blob, value)),
                "queueendpoint" => endpoints.push((Service::Queue, value)),
                "tableendpoint" => endpoints.push((Service::Table, value)),
                "endpointsuffix" => suffix = Some(value),
                "fileendpoint" => {}
                "sharedaccesssignature" => {
                    return Err(invalid(
                        "SharedAccessSignature is not supported; use AccountName and AccountKey"
                            .to_owned(),
                    ));
                }
                "developmentstorageproxyuri" => {
                    return Err(invalid(
                        "DevelopmentStorageProxyUri is not supported".to_owned(),
                    ));
                }
                other => {
                    let name: String = other.chars().take(40).collect();
                    return Err(invalid(format!("unknown part `{name}`")));
                }
            }
        }
        match dev {
            Some(true) => return Ok(AccountConfig::development()),
            Some(false) => {
                return Err(invalid(
                    "UseDevelopmentStorage must be `true` when present".to_owned(),
                ));
            }
            None => {}
        }
        let (Some(account), Some(key)) = (account, key) else {
            return Err(ConfigError::NoAccount);
        };
        let protocol = protocol.unwrap_or_else(|| "https".to_owned());
        if protocol != "http" && protocol != "https" {
            return Err(invalid(
                "DefaultEndpointsProtocol must be http or https".to_owned(),
            ));
        }
        let mut config = AccountConfig::with_suffix(
            account,
            key,
            &protocol,
            suffix.unwrap_or(DEFAULT_ENDPOINT_SUFFIX),
        )?;
        for (service, url) in endpoints {
            config = config.with_endpoint(service, url)?;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET_KEY: &str = "c2VjcmV0LWtleS1kby1ub3QtbGVhaw=="; // "secret-key-do-not-leak"

    fn assert_no_secret(text: &str) {
        assert!(!text.contains(SECRET_KEY), "key leaked: {text}");
        assert!(!text.contains("c2VjcmV0"), "key leaked: {text}");
        assert!(!text.contains("secret-key"), "key leaked: {text}");
        // The decoded bytes as Debug would print them.
        assert!(!text.contains("115, 101, 99"), "key bytes leaked: {text}");
    }

    #[test]
    fn development_storage() {
        let c = AccountConfig::parse("UseDevelopmentStorage=true").expect("parses");
        assert_eq!(c.account, "devstoreaccount1");
        assert_eq!(
            c.table_endpoint.url(),
            "http://127.0.0.1:10002/devstoreaccount1"
        );
        assert_eq!(
            c.queue_endpoint.url(),
            "http://127.0.0.1:10001/devstoreaccount1"
        );
        assert_eq!(
            c.endpoint(Service::Blob).url(),
            "http://127.0.0.1:10000/devstoreaccount1"
        );
        assert_eq!(c.table_endpoint.base_path, "/devstoreaccount1");
        let c = AccountConfig::parse("usedevelopmentstorage=TRUE;").expect("parses");
        assert_eq!(c.account, "devstoreaccount1");
    }

    #[test]
    fn full_connection_strings() {
        let c = AccountConfig::parse(&format!(
            "DefaultEndpointsProtocol=https;AccountName=myacct;AccountKey={SECRET_KEY};EndpointSuffix=core.windows.net"
        ))
        .expect("parses");
        assert_eq!(
            c.table_endpoint.url(),
            "https://myacct.table.core.windows.net"
        );
        assert_eq!(
            c.queue_endpoint.url(),
            "https://myacct.queue.core.windows.net"
        );
        let c = AccountConfig::parse(&format!(
            "AccountName=myacct;AccountKey={SECRET_KEY};TableEndpoint=http://localhost:9999/myacct/;DefaultEndpointsProtocol=http"
        ))
        .expect("parses");
        assert_eq!(c.table_endpoint.scheme, "http");
        assert_eq!(c.table_endpoint.authority, "localhost:9999");
        assert_eq!(c.table_endpoint.base_path, "/myacct");
        // Services without an endpoint part keep the derived one.
        assert_eq!(
            c.queue_endpoint.url(),
            "http://myacct.queue.core.windows.net"
        );
        let c = AccountConfig::parse(&format!(
            "DefaultEndpointsProtocol=http;AccountName=x1;AccountKey={SECRET_KEY};EndpointSuffix=core.chinacloudapi.cn"
        ))
        .expect("parses");
        assert_eq!(
            c.table_endpoint.url(),
            "http://x1.table.core.chinacloudapi.cn"
        );
        let c = AccountConfig::parse(&format!(
            "AccountName=devstoreaccount1;AccountKey={SECRET_KEY};QueueEndpoint=http://127.0.0.1:20001/devstoreaccount1"
        ))
        .expect("parses");
        assert_eq!(c.queue_endpoint.authority, "127.0.0.1:20001");
        assert_eq!(
            c.table_endpoint.url(),
            "https://devstoreaccount1.table.core.windows.net"
        );
    }

    #[test]
    fn builder_form() {
        let c = AccountConfig::new("acct", SECRET_KEY)
            .and_then(|c| c.with_endpoint(Service::Queue, "http://127.0.0.1:1/acct"))
            .expect("valid");
        assert_eq!(c.queue_endpoint.url(), "http://127.0.0.1:1/acct");
        assert_eq!(c.blob_endpoint.url(), "https://acct.blob.core.windows.net");
        let err = AccountConfig::new("acct", SECRET_KEY)
            .and_then(|c| c.with_endpoint(Service::Queue, "ftp://x"))
            .expect_err("ftp refused");
        assert!(err.to_string().contains("QueueEndpoint"), "{err}");
    }

    #[test]
    fn errors_and_debug_never_show_the_key() {
        let good =
            format!("DefaultEndpointsProtocol=http;AccountName=myacct;AccountKey={SECRET_KEY}");
        let config = AccountConfig::parse(&good).expect("parses");
        assert_no_secret(&format!("{config:?}"));
        assert_no_secret(&format!("{config:#?}"));
        let bad_strings = [
            format!("AccountName=myacct;AccountKey={SECRET_KEY}!!"),
            format!("AccountName=my-acct;AccountKey={SECRET_KEY}"),
            format!("AccountName=myacct;{SECRET_KEY}"),
            format!("AccountName=myacct;Key{SECRET_KEY}=x"),
            format!("AccountName=myacct;AccountKey={SECRET_KEY};TableEndpoint=ftp://x"),
            format!(
                "AccountName=myacct;AccountKey={SECRET_KEY};QueueEndpoint=http://{SECRET_KEY}@x"
            ),
            format!(
                "AccountName=myacct;AccountKey={SECRET_KEY};QueueEndpoint=not a url {SECRET_KEY}"
            ),
            format!("AccountKey={SECRET_KEY}"),
            format!("DefaultEndpointsProtocol=gopher;AccountName=a;AccountKey={SECRET_KEY}"),
            format!("UseDevelopmentStorage=false;AccountKey={SECRET_KEY}"),
            format!("SharedAccessSignature={SECRET_KEY}"),
        ];
        for bad in &bad_strings {
            let err = AccountConfig::parse(bad).expect_err(bad);
            assert_no_secret(&err.to_string());
            assert_no_secret(&format!("{err:?}"));
        }
        assert!(matches!(
            AccountConfig::parse(&format!("AccountKey={SECRET_KEY}")),
            Err(ConfigError::NoAccount)
        ));
    }
}
