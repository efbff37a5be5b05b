//! Storage account settings from a connection string, and request signing
//! with the account key.
//!
//! The key is a secret: it is held in a type whose `Debug` prints
//! `<redacted>`, and no error built here quotes any value from the
//! connection string, only the names of its parts.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::store::StoreError;

/// The emulator's well-known account name.
pub const DEV_ACCOUNT_NAME: &str = "devstoreaccount1";
/// The emulator's well-known, published account key (not a secret).
pub const DEV_ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/// The emulator's table endpoint.
pub const DEV_TABLE_ENDPOINT: &str = "http://127.0.0.1:10002/devstoreaccount1";

/// An account key, decoded. `Debug` never shows it.
#[derive(Clone)]
pub(crate) struct AccountKey(Vec<u8>);

impl fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where a table endpoint is: scheme, authority and base path (path-style
/// endpoints such as the emulator's carry the account name in the path).
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
    pub fn parse(url: &str) -> Result<Endpoint, StoreError> {
        let bad = |why: &str| {
            StoreError::InvalidConnectionString(format!("TableEndpoint is not a valid URL: {why}"))
        };
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

/// A storage account: its name, key and table endpoint.
#[derive(Clone)]
pub struct AccountConfig {
    /// The account name.
    pub account: String,
    key: AccountKey,
    /// The table endpoint.
    pub endpoint: Endpoint,
}

impl fmt::Debug for AccountConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountConfig")
            .field("account", &self.account)
            .field("key", &self.key)
            .field("endpoint", &self.endpoint.url())
            .finish()
    }
}

impl AccountConfig {
    /// The local emulator with its well-known account.
    pub fn development() -> AccountConfig {
        AccountConfig::new(DEV_ACCOUNT_NAME, DEV_ACCOUNT_KEY, DEV_TABLE_ENDPOINT)
            .expect("the emulator's published settings are valid")
    }

    /// An account from its parts; `key_base64` is the key as the portal
    /// shows it.
    pub fn new(
        account: &str,
        key_base64: &str,
        endpoint: &str,
    ) -> Result<AccountConfig, StoreError> {
        if account.is_empty() || !account.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(StoreError::InvalidConnectionString(
                "AccountName must be letters and digits".to_owned(),
            ));
        }
        let key = BASE64.decode(key_base64.trim()).map_err(|_| {
            StoreError::InvalidConnectionString("AccountKey is not valid base64".to_owned())
        })?;
        if key.is_empty() {
            return Err(StoreError::InvalidConnectionString(
                "AccountKey is empty".to_owned(),
            ));
        }
        Ok(AccountConfig {
            account: account.to_owned(),
            key: AccountKey(key),
            endpoint: Endpoint::parse(endpoint)?,
        })
    }

    /// Parses `UseDevelopmentStorage=true` or
    /// `DefaultEndpointsProtocol=…;AccountName=…;AccountKey=…[;TableEndpoint=…][;EndpointSuffix=…]`.
    /// Part names are case-insensitive; blob, queue and file endpoints are
    /// ignored. Errors name the offending part, never its value.
    pub fn parse(connection_string: &str) -> Result<AccountConfig, StoreError> {
        let invalid = |msg: String| StoreError::InvalidConnectionString(msg);
        let mut dev = None;
        let mut protocol = None;
        let mut account = None;
        let mut key = None;
        let mut endpoint = None;
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
                "tableendpoint" => endpoint = Some(value),
                "endpointsuffix" => suffix = Some(value),
                "blobendpoint" | "queueendpoint" | "fileendpoint" => {}
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
            return Err(invalid(
                "expected `embedded`, `embedded:PATH`, `UseDevelopmentStorage=true` or \
                 `DefaultEndpointsProtocol=…;AccountName=…;AccountKey=…[;TableEndpoint=…]`"
                    .to_owned(),
            ));
        };
        let protocol = protocol.unwrap_or_else(|| "https".to_owned());
        if protocol != "http" && protocol != "https" {
            return Err(invalid(
                "DefaultEndpointsProtocol must be http or https".to_owned(),
            ));
        }
        let endpoint = match endpoint {
            Some(url) => url.to_owned(),
            None => format!(
                "{protocol}://{account}.table.{}",
                suffix.unwrap_or("core.windows.net")
            ),
        };
        AccountConfig::new(account, key, &endpoint)
    }

    /// The `Authorization` header value (SharedKey) for a request.
    ///
    /// `resource_path` is the request path after the endpoint's base path,
    /// as sent (percent-encoded), e.g. `/Tables` or `/audit()`. The
    /// canonicalized resource is `/{account}{base path}{resource_path}`; the
    /// query string is not part of it (no request here uses `comp`).
    pub(crate) fn authorization(
        &self,
        method: &str,
        content_type: &str,
        x_ms_date: &str,
        resource_path: &str,
    ) -> Result<String, StoreError> {
        let string_to_sign = format!(
            "{method}\n\n{content_type}\n{x_ms_date}\n/{}{}{}",
            self.account, self.endpoint.base_path, resource_path
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key.0).map_err(|_| {
            StoreError::InvalidConnectionString("AccountKey is unusable".to_owned())
        })?;
        mac.update(string_to_sign.as_bytes());
        let signature = BASE64.encode(mac.finalize().into_bytes());
        Ok(format!("SharedKey {}:{signature}", self.account))
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
        assert_eq!(c.endpoint.url(), "http://127.0.0.1:10002/devstoreaccount1");
        assert_eq!(c.endpoint.base_path, "/devstoreaccount1");
        let c = AccountConfig::parse("usedevelopmentstorage=TRUE;").expect("parses");
        assert_eq!(c.account, "devstoreaccount1");
    }

    #[test]
    fn full_connection_strings() {
        let c = AccountConfig::parse(&format!(
            "DefaultEndpointsProtocol=https;AccountName=myacct;AccountKey={SECRET_KEY};EndpointSuffix=core.windows.net"
        ))
        .expect("parses");
        assert_eq!(c.endpoint.url(), "https://myacct.table.core.windows.net");
        let c = AccountConfig::parse(&format!(
            "AccountName=myacct;AccountKey={SECRET_KEY};TableEndpoint=http://localhost:9999/myacct/;DefaultEndpointsProtocol=http"
        ))
        .expect("parses");
        assert_eq!(c.endpoint.scheme, "http");
        assert_eq!(c.endpoint.authority, "localhost:9999");
        assert_eq!(c.endpoint.base_path, "/myacct");
        let c = AccountConfig::parse(&format!(
            "DefaultEndpointsProtocol=http;AccountName=x1;AccountKey={SECRET_KEY}"
        ))
        .expect("parses");
        assert_eq!(c.endpoint.url(), "http://x1.table.core.windows.net");
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
    }

    #[test]
    fn shared_key_signatures_match_known_values() {
        // Expected values computed with an independent HMAC-SHA256
        // implementation over the documented string-to-sign, e.g.
        // "GET\n\n\nSun, 11 Oct 2009 21:49:13 GMT\n/devstoreaccount1/devstoreaccount1/Tables"
        // (path-style endpoints repeat the account name).
        let c = AccountConfig::development();
        let date = "Sun, 11 Oct 2009 21:49:13 GMT";
        assert_eq!(
            c.authorization("GET", "", date, "/Tables").expect("signs"),
            "SharedKey devstoreaccount1:SN334W2NJRJzvDKGEv60th4NYsvV4mrQq3CP3YJ2J88="
        );
        assert_eq!(
            c.authorization("POST", "application/json", date, "/Tables")
                .expect("signs"),
            "SharedKey devstoreaccount1:5Aln0/EanT/ylb/vVBZ2dYTIpwHD0OjRrfQLEhX4WUo="
        );
    }
}
