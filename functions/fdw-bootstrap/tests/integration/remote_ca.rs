//! `ServerOptions.SslRootCert` left out, as a first deploy does: fdw-bootstrap
//! finds the CA file on cluster A's server (ssl_ca_file, as on RDS) that
//! verifies cluster B, and refuses with every candidate named when none does.
//! An exclusive turn: the test changes cluster A's ssl_ca_file for a while.

use fdw_bridge_testkit as harness;

use harness::{unique, Stack};

async fn server_option(a: &tokio_postgres::Client, server: &str, option: &str) -> Option<String> {
    a.query_opt(
        "SELECT substr(o, length($2) + 2) FROM pg_foreign_server s, unnest(s.srvoptions) o
          WHERE s.srvname = $1 AND o LIKE $2 || '=%'",
        &[&server, &option],
    )
    .await
    .unwrap()
    .map(|r| r.get(0))
}

/// Puts cluster A's ssl_ca_file back when the test ends, whatever happens.
struct RestoreCaFile {
    port: u16,
    socket_dir: String,
}

impl Drop for RestoreCaFile {
    fn drop(&mut self) {
        let status = std::process::Command::new("psql")
            .args([
                "-h",
                &self.socket_dir,
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                "users",
            ])
            .args(["-qAtc", "ALTER SYSTEM RESET ssl_ca_file"])
            .args(["-c", "SELECT pg_reload_conf()"])
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "could not restore cluster A's ssl_ca_file"
        );
    }
}

#[tokio::test]
async fn without_sslrootcert_the_link_uses_cluster_as_ca_file_and_names_candidates_when_none_verifies() {
    let stack = Stack::get();
    let _turn = stack.exclusive().await;
    let bootstrap = stack.bootstrap().await;
    let a = stack.clusters.superuser('a', "users").await;
    let ca_file: String = a.query_one("SHOW ssl_ca_file", &[]).await.unwrap().get(0);
    assert!(
        ca_file.ends_with("/ca.pem"),
        "the stack's cluster A names its CA in ssl_ca_file (as RDS does): {ca_file:?}; run `make stack-down stack-up`"
    );

    // Found and kept: the server verifies cluster B against A's own CA file.
    let server = unique("ca_link");
    let schema = unique("ca_remote");
    let fdw_user = unique("fdw_ca");
    let secret = stack.fdw_secret(&fdw_user, "ca-pw-1").await;
    let mut props = stack.properties(&server, &schema, &secret);
    props["ServerOptions"] = serde_json::json!({});
    let created = stack.request(&bootstrap, "Create", None, &props).await;
    created.assert_success();
    let id = created.answer.physical_resource_id.clone();
    assert_eq!(
        server_option(&a, &server, "sslrootcert").await.as_deref(),
        Some(ca_file.as_str())
    );
    assert_eq!(
        server_option(&a, &server, "sslmode").await.as_deref(),
        Some("verify-full")
    );
    let reader = stack.clusters.report_reader().await;
    let n: i64 = reader
        .query_one(&format!("SELECT count(*) FROM \"{schema}\".orders"), &[])
        .await
        .unwrap()
        .get(0);
    assert!(n > 0);
    // The probe left nothing behind.
    let leftovers: i64 = a
        .query_one(
            "SELECT (SELECT count(*) FROM pg_foreign_server WHERE srvname = 'fdw_bridge_ca_probe')
                  + (SELECT count(*) FROM pg_namespace WHERE nspname = 'fdw_bridge_ca_probe')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(leftovers, 0);
    // The same properties again: the CA found is the one in place, nothing to do.
    let again = stack.request(&bootstrap, "Update", Some(&id), &props).await;
    again.assert_success();
    assert_eq!(again.data("StatementsApplied"), "0", "{}", again.reason());

    // No candidate verifies: A's CA file is an unrelated CA and the server's option is gone.
    let _restore = RestoreCaFile {
        port: stack.clusters.port('a'),
        socket_dir: stack.var("PG_A_SOCKET_DIR").to_string(),
    };
    a.batch_execute(&format!(
        "ALTER SYSTEM SET ssl_ca_file = '{}'",
        stack.var("FDW_ROGUE_CA_BUNDLE")
    ))
    .await
    .unwrap();
    a.batch_execute("SELECT pg_reload_conf()").await.unwrap();
    a.batch_execute(&format!("ALTER SERVER \"{server}\" OPTIONS (DROP sslrootcert)"))
        .await
        .unwrap();
    let refused = stack.request(&bootstrap, "Update", Some(&id), &props).await;
    refused.assert_failed_with(&[
        "ServerOptions.SslRootCert is not set and no CA file on the local cluster's server verifies",
        stack.var("FDW_ROGUE_CA_BUNDLE"),
        "certificate verify failed",
        "CACertificateIdentifier",
    ]);
    drop(_restore);

    let deleted = stack.request(&bootstrap, "Delete", Some(&id), &props).await;
    deleted.assert_success();
    harness::assert_link_gone(stack, &server, &schema, &fdw_user).await;
    stack.assert_no_password_leaked();
}
