//! The PostgreSQL task hub passes the conformance suite, each check on a schema of its own
//! (dropped afterwards). Needs `DURAFN_TEST_POSTGRES_URL`; without it the checks are skipped,
//! except in CI (`CI=true`), where they fail.

use durafn_postgres::PostgresOptions;

use crate::common::{self, TestHub};

durafn_store::conformance_tests!({
    let Some(url) = common::url() else {
        return;
    };
    async move {
        TestHub::new(&url, "conf", PostgresOptions::default())
            .await
            .into_fixture()
    }
});
