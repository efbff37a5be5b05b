//! Strings to sign built by hand from the rules in "Authorize with Shared
//! Key", and signatures whose expected values were computed with an
//! independent HMAC-SHA256 implementation over those strings.

use super::*;

const DATE: &str = "Sun, 11 Oct 2009 21:49:13 GMT";

fn request(method: Method, uri: &str, headers: &[(&str, &str)]) -> Request<()> {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).expect("valid request")
}

fn to_sign(service: Service, scheme: Scheme, account: &str, r: &Request<()>) -> String {
    string_to_sign(service, scheme, account, r.method(), r.uri(), r.headers())
}

fn uri(s: &str) -> Uri {
    s.parse().expect("valid URI")
}

#[test]
fn canonicalized_resources_from_the_documentation() {
    assert_eq!(
        canonicalized_resource(
            "myaccount",
            &uri(
                "http://myaccount.blob.core.windows.net/mycontainer?restype=container&comp=metadata"
            )
        ),
        "/myaccount/mycontainer\ncomp:metadata\nrestype:container"
    );
    assert_eq!(
        canonicalized_resource(
            "myaccount",
            &uri(
                "http://myaccount.blob.core.windows.net/mycontainer?restype=container&comp=list\
                 &include=snapshots&include=metadata&include=uncommittedblobs"
            )
        ),
        "/myaccount/mycontainer\ncomp:list\ninclude:metadata,snapshots,uncommittedblobs\nrestype:container"
    );
    assert_eq!(
        canonicalized_resource(
            "myaccount",
            &uri("https://myaccount-secondary.blob.core.windows.net/mycontainer/myblob")
        ),
        "/myaccount/mycontainer/myblob"
    );
    // The lite form keeps only `comp`.
    assert_eq!(
        canonicalized_resource_lite(
            "myaccount",
            &uri(
                "http://myaccount.blob.core.windows.net/mycontainer?restype=container&comp=metadata"
            )
        ),
        "/myaccount/mycontainer?comp=metadata"
    );
    assert_eq!(
        canonicalized_resource_lite(
            "myaccount",
            &uri("http://myaccount.table.core.windows.net/Tables")
        ),
        "/myaccount/Tables"
    );
}

#[test]
fn canonicalized_resources_decode_lowercase_and_sort() {
    // The emulator's path-style URLs repeat the account name.
    assert_eq!(
        canonicalized_resource(
            "devstoreaccount1",
            &uri(
                "http://127.0.0.1:10001/devstoreaccount1/q1/messages?visibilitytimeout=30&numofmessages=32"
            )
        ),
        "/devstoreaccount1/devstoreaccount1/q1/messages\nnumofmessages:32\nvisibilitytimeout:30"
    );
    assert_eq!(
        canonicalized_resource(
            "acct",
            &uri("http://h/q/messages/id?popreceipt=AgAAAA%2BZ%2F%3D&Timeout=20&peekonly")
        ),
        "/acct/q/messages/id\npeekonly:\npopreceipt:AgAAAA+Z/=\ntimeout:20"
    );
    // The service root: the path is `/`.
    assert_eq!(
        canonicalized_resource(
            "acct",
            &uri("http://acct.queue.core.windows.net/?COMP=list")
        ),
        "/acct/\ncomp:list"
    );
    assert_eq!(
        canonicalized_resource_lite("acct", &uri("http://h/q?Comp=metadata&timeout=5")),
        "/acct/q?comp=metadata"
    );
}

#[test]
fn canonicalized_headers_are_lowercased_sorted_and_unfolded() {
    let r = request(
        Method::GET,
        "http://h/q",
        &[
            ("x-ms-version", "2021-12-02"),
            ("X-MS-Meta-Name", "  a \t b  \"c   d\"  "),
            ("x-ms-date", DATE),
            ("Content-Type", "text/plain"),
            ("x-ms-meta-list", "one"),
        ],
    );
    let mut with_repeat = r.headers().clone();
    with_repeat.append("x-ms-meta-list", HeaderValue::from_static("two"));
    assert_eq!(
        canonicalized_headers(&with_repeat),
        format!(
            "x-ms-date:{DATE}\nx-ms-meta-list:one,two\nx-ms-meta-name:a b \"c   d\"\nx-ms-version:2021-12-02\n"
        )
    );
}

#[test]
fn blob_and_queue_shared_key_strings() {
    let put = request(
        Method::POST,
        "http://127.0.0.1:10001/devstoreaccount1/orders/messages?visibilitytimeout=5&messagettl=60",
        &[
            ("x-ms-date", DATE),
            ("x-ms-version", "2021-12-02"),
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", "76"),
            ("Accept", "application/xml"),
        ],
    );
    let expected = format!(
        "POST\n\n\n76\n\ntext/plain; charset=utf-8\n\n\n\n\n\n\n\
         x-ms-date:{DATE}\nx-ms-version:2021-12-02\n\
         /devstoreaccount1/devstoreaccount1/orders/messages\nmessagettl:60\nvisibilitytimeout:5"
    );
    assert_eq!(
        to_sign(Service::Queue, Scheme::SharedKey, "devstoreaccount1", &put),
        expected
    );
    assert_eq!(
        AccountConfig::development().authorization(
            Service::Queue,
            Scheme::SharedKey,
            put.method(),
            put.uri(),
            put.headers()
        ),
        "SharedKey devstoreaccount1:OWmESKv93IVn5Zjp8SYYHbMPXEF3GEH3T8ddEV/1zeo="
    );

    // Every standard header has its place; a zero Content-Length is empty;
    // `Date` is empty when `x-ms-date` is sent.
    let all = request(
        Method::PUT,
        "http://a.blob.core.windows.net/c/b",
        &[
            ("Content-Encoding", "gzip"),
            ("Content-Language", "en"),
            ("Content-Length", "0"),
            ("Content-MD5", "md5"),
            ("Content-Type", "ct"),
            ("Date", "ignored"),
            ("If-Modified-Since", "ims"),
            ("If-Match", "im"),
            ("If-None-Match", "inm"),
            ("If-Unmodified-Since", "ius"),
            ("Range", "bytes=0-1"),
            ("x-ms-date", DATE),
        ],
    );
    assert_eq!(
        to_sign(Service::Blob, Scheme::SharedKey, "a", &all),
        format!(
            "PUT\ngzip\nen\n\nmd5\nct\n\nims\nim\ninm\nius\nbytes=0-1\nx-ms-date:{DATE}\n/a/c/b"
        )
    );
    // Without x-ms-date the Date header is signed.
    let dated = request(Method::GET, "http://a/c", &[("Date", DATE)]);
    assert_eq!(
        to_sign(Service::Blob, Scheme::SharedKey, "a", &dated),
        format!("GET\n\n\n\n\n\n{DATE}\n\n\n\n\n\n/a/c")
    );
}

#[test]
fn blob_and_queue_shared_key_lite_strings() {
    let get = request(
        Method::GET,
        "http://127.0.0.1:10001/devstoreaccount1/orders?comp=metadata",
        &[("x-ms-date", DATE), ("x-ms-version", "2021-12-02")],
    );
    assert_eq!(
        to_sign(
            Service::Queue,
            Scheme::SharedKeyLite,
            "devstoreaccount1",
            &get
        ),
        format!(
            "GET\n\n\n\nx-ms-date:{DATE}\nx-ms-version:2021-12-02\n\
             /devstoreaccount1/devstoreaccount1/orders?comp=metadata"
        )
    );
    assert_eq!(
        AccountConfig::development().authorization(
            Service::Queue,
            Scheme::SharedKeyLite,
            get.method(),
            get.uri(),
            get.headers()
        ),
        "SharedKeyLite devstoreaccount1:ZOJwV1gUs+KW3jwNUtFq0z43VxqL2unNx/NaqW/IEGE="
    );
}

#[test]
fn table_strings_and_known_signatures() {
    let dev = AccountConfig::development();
    let get = request(
        Method::GET,
        "http://127.0.0.1:10002/devstoreaccount1/Tables",
        &[("x-ms-date", DATE), ("x-ms-version", "2019-02-02")],
    );
    // No x-ms-* headers, only the date, in the table strings.
    assert_eq!(
        to_sign(Service::Table, Scheme::SharedKey, "devstoreaccount1", &get),
        format!("GET\n\n\n{DATE}\n/devstoreaccount1/devstoreaccount1/Tables")
    );
    assert_eq!(
        dev.authorization(
            Service::Table,
            Scheme::SharedKey,
            get.method(),
            get.uri(),
            get.headers()
        ),
        "SharedKey devstoreaccount1:SN334W2NJRJzvDKGEv60th4NYsvV4mrQq3CP3YJ2J88="
    );
    let post = request(
        Method::POST,
        "http://127.0.0.1:10002/devstoreaccount1/Tables",
        &[("x-ms-date", DATE), ("Content-Type", "application/json")],
    );
    assert_eq!(
        dev.authorization(
            Service::Table,
            Scheme::SharedKey,
            post.method(),
            post.uri(),
            post.headers()
        ),
        "SharedKey devstoreaccount1:5Aln0/EanT/ylb/vVBZ2dYTIpwHD0OjRrfQLEhX4WUo="
    );
    assert_eq!(
        to_sign(
            Service::Table,
            Scheme::SharedKeyLite,
            "devstoreaccount1",
            &get
        ),
        format!("{DATE}\n/devstoreaccount1/devstoreaccount1/Tables")
    );
    assert_eq!(
        dev.authorization(
            Service::Table,
            Scheme::SharedKeyLite,
            get.method(),
            get.uri(),
            get.headers()
        ),
        "SharedKeyLite devstoreaccount1:2WJjkGwLt4aTitrIgUitgLiWOlXCrpU2/72fmbAYJj4="
    );
    // A query other than `comp` is not part of the table resource; the
    // Date header stands in when there is no x-ms-date.
    let query = request(
        Method::GET,
        "http://h/acct/audit()?$filter=x&comp=list",
        &[("Date", DATE)],
    );
    assert_eq!(
        to_sign(Service::Table, Scheme::SharedKey, "acct", &query),
        format!("GET\n\n\n{DATE}\n/acct/acct/audit()?comp=list")
    );
}

#[test]
fn sign_sets_the_authorization_header() {
    let mut r = request(
        Method::GET,
        "http://127.0.0.1:10002/devstoreaccount1/Tables",
        &[("x-ms-date", DATE)],
    );
    AccountConfig::development().sign(Service::Table, Scheme::SharedKey, &mut r);
    assert_eq!(
        r.headers()["authorization"],
        "SharedKey devstoreaccount1:SN334W2NJRJzvDKGEv60th4NYsvV4mrQq3CP3YJ2J88="
    );
}

#[test]
fn sign_sends_the_headers_it_signs() {
    let mut r = request(
        Method::GET,
        "http://h/devstoreaccount1/q?comp=metadata",
        &[
            ("x-ms-date", DATE),
            ("x-ms-client-request-id", " two  spaces\tand a tab "),
            ("x-ms-meta-list", "one"),
        ],
    );
    r.headers_mut()
        .append("x-ms-meta-list", HeaderValue::from_static("two"));
    AccountConfig::development().sign(Service::Queue, Scheme::SharedKey, &mut r);
    assert_eq!(
        r.headers()["x-ms-client-request-id"],
        "two spaces and a tab"
    );
    assert_eq!(r.headers().get_all("x-ms-meta-list").iter().count(), 1);
    assert_eq!(r.headers()["x-ms-meta-list"], "one,two");
    // Signing the rewritten request again gives the same signature.
    let again = AccountConfig::development().authorization(
        Service::Queue,
        Scheme::SharedKey,
        r.method(),
        r.uri(),
        r.headers(),
    );
    assert_eq!(r.headers()["authorization"], again.as_str());
}
