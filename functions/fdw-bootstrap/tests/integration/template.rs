//! template.yaml (new clusters) and template-existing.yaml (existing clusters) each agree
//! with the code (no stack needed):
//! - every function crate under functions/ has a template function built by cargo-lambda
//!   (provided.al2023, arm64, Binary = the crate), and every such template function has a crate;
//! - each function's Environment sets exactly the FDW_* variables its code reads: derived
//!   from the sources (the function's src/ plus every library crate of the workspace it
//!   depends on, transitively), never from a list kept here;
//! - Lambda's own logging variables come from LoggingConfig, not Environment;
//! - FDW_CA_BUNDLE points into the RDS CA layer that scripts/fetch-rds-ca.sh fills;
//! - every `Custom::FdwLink` passes fdw-bootstrap's own property validation, with
//!   intrinsic functions replaced by placeholders, with every condition true and all false;
//! - fdw-report's FDW_REPORT_SCHEMA and FDW_REPORT_LINKS parse as its settings, and "all"
//!   runs every shipped report whose links the template gives (C's only with cluster C).

use fdw_bridge_testkit::workspace_dependencies;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

// ------------------------------------------------------------------ YAML with CloudFormation tags

/// The deploy templates: new clusters, and clusters that already exist.
const TEMPLATES: [&str; 2] = ["template.yaml", "template-existing.yaml"];

/// A template as JSON; short-form tags become their long form (`!Ref X` -> `{"Ref": "X"}`,
/// `!GetAtt A.B` -> `{"Fn::GetAtt": ["A", "B"]}`, `!Sub s` -> `{"Fn::Sub": s}`, ...).
fn template_named(name: &str) -> Value {
    let text = read(&repo().join(name));
    let yaml: serde_yaml::Value =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{name} is not valid YAML: {e}"));
    to_json(yaml)
}

fn template() -> Value {
    template_named("template.yaml")
}

/// Each deploy template, by name.
fn templates() -> Vec<(&'static str, Value)> {
    TEMPLATES.iter().map(|name| (*name, template_named(name))).collect()
}

/// The template's `Custom::FdwLink` resources, by logical id.
fn fdw_links(t: &Value) -> Vec<(&String, &Value)> {
    t["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == "Custom::FdwLink")
        .collect()
}

fn to_json(v: serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(&n).expect("number"),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Y::Mapping(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k.as_str().expect("mapping keys are strings").to_string(), to_json(v)))
                .collect(),
        ),
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let inner = to_json(tagged.value);
            match name {
                "Ref" | "Condition" => json!({ name: inner }),
                "GetAtt" => match inner {
                    Value::String(s) => {
                        let (resource, attribute) = s.split_once('.').expect("!GetAtt Resource.Attribute");
                        json!({"Fn::GetAtt": [resource, attribute]})
                    }
                    other => json!({ "Fn::GetAtt": other }),
                },
                _ => json!({ format!("Fn::{name}"): inner }),
            }
        }
    }
}

#[test]
fn short_form_tags_become_long_form() {
    let y: serde_yaml::Value = serde_yaml::from_str("a: !Ref X\nb: !GetAtt C.D.E\nc: !If [Cond, 1, 2]").unwrap();
    assert_eq!(
        to_json(y),
        json!({"a": {"Ref": "X"}, "b": {"Fn::GetAtt": ["C", "D.E"]}, "c": {"Fn::If": ["Cond", 1, 2]}})
    );
}

// ------------------------------------------------------------------ placeholders for intrinsics

/// Replaces intrinsic functions by what CloudFormation would pass: a parameter's default when
/// it has one, otherwise a placeholder string (a list for list parameters); `Fn::If` takes
/// the branch `conditions` says; `AWS::NoValue` removes the key. Returns None for NoValue.
fn resolve(v: &Value, params: &Map<String, Value>, conditions: bool) -> Option<Value> {
    match v {
        Value::Object(o) if o.len() == 1 => {
            let (k, inner) = o.iter().next().expect("one key");
            match k.as_str() {
                "Ref" => {
                    let name = inner.as_str().expect("Ref names a string");
                    if name == "AWS::NoValue" {
                        return None;
                    }
                    Some(parameter_value(name, params))
                }
                "Fn::If" => {
                    let branch = if conditions { 1 } else { 2 };
                    resolve(&inner[branch], params, conditions)
                }
                "Fn::GetAtt" => Some(Value::String(format!(
                    "getatt-{}",
                    inner.as_array().map_or(String::new(), |a| a
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join("-"))
                ))),
                // A list built from strings (LocalRoles of a second link): joined and split as CloudFormation does.
                "Fn::Join" => {
                    let parts = resolve(&inner[1], params, conditions)?;
                    let strings: Option<Vec<String>> = parts
                        .as_array()
                        .map(|a| a.iter().map(|v| v.as_str().map(str::to_string)).collect())
                        .unwrap_or(None);
                    Some(Value::String(strings.map_or_else(
                        || "placeholder-Join".to_string(),
                        |s| s.join(inner[0].as_str().unwrap_or_default()),
                    )))
                }
                "Fn::Split" => match resolve(&inner[1], params, conditions)? {
                    Value::String(text) => Some(Value::Array(
                        text.split(inner[0].as_str().unwrap_or(","))
                            .map(|s| Value::String(s.to_string()))
                            .collect(),
                    )),
                    _ => Some(Value::String("placeholder-Split".into())),
                },
                k if k.starts_with("Fn::") => Some(Value::String(format!("placeholder-{}", &k[4..]))),
                _ => Some(resolve_object(o, params, conditions)),
            }
        }
        Value::Object(o) => Some(resolve_object(o, params, conditions)),
        Value::Array(items) => Some(Value::Array(
            items.iter().filter_map(|i| resolve(i, params, conditions)).collect(),
        )),
        other => Some(other.clone()),
    }
}

fn resolve_object(o: &Map<String, Value>, params: &Map<String, Value>, conditions: bool) -> Value {
    Value::Object(
        o.iter()
            .filter_map(|(k, v)| resolve(v, params, conditions).map(|v| (k.clone(), v)))
            .collect(),
    )
}

fn parameter_value(name: &str, params: &Map<String, Value>) -> Value {
    let Some(param) = params.get(name) else {
        // A resource or pseudo parameter.
        return Value::String(format!("ref-{}", name.replace("::", "-")));
    };
    let is_list = param["Type"]
        .as_str()
        .is_some_and(|t| t == "CommaDelimitedList" || t.starts_with("List<"));
    let default = param.get("Default").map(|d| match d {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    match (is_list, default.filter(|d| !d.is_empty())) {
        (true, Some(d)) => Value::Array(d.split(',').map(|s| Value::String(s.trim().to_string())).collect()),
        (true, None) => json!([format!("ref_{name}")]),
        (false, Some(d)) => Value::String(d),
        (false, None) => Value::String(format!("ref_{name}")),
    }
}

#[test]
fn placeholders_follow_conditions_and_defaults() {
    let params = json!({"L": {"Type": "CommaDelimitedList", "Default": ""}, "N": {"Type": "Number", "Default": 5}});
    let params = params.as_object().unwrap();
    let v = json!({"a": {"Fn::If": ["C", {"Ref": "L"}, {"Ref": "AWS::NoValue"}]}, "b": {"Ref": "N"}});
    assert_eq!(resolve(&v, params, true), Some(json!({"a": ["ref_L"], "b": "5"})));
    assert_eq!(resolve(&v, params, false), Some(json!({"b": "5"})));
    let roles = json!({"Fn::Split": [",", {"Fn::Join": [",", ["r", {"Fn::Join": [",", {"Ref": "L"}]}]]}]});
    assert_eq!(resolve(&roles, params, true), Some(json!(["r", "ref_L"])));
}

// ------------------------------------------------------------------ env vars from the code

/// The FDW_* variables a function's code reads: string literals that are exactly an FDW_*
/// name, in the non-test code of the function's src/ and of every library crate of the
/// workspace it depends on (transitively, through each manifest's `[dependencies]`). Also
/// the names of those crates (`runtime` for fdw-bridge-runtime).
fn env_vars_read(function_dir: &Path) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut crates = BTreeSet::new();
    let mut dirs = vec![function_dir.to_path_buf()];
    let mut vars = BTreeSet::new();
    while let Some(dir) = dirs.pop() {
        for file in rust_files(&dir.join("src")) {
            vars.extend(fdw_literals(&non_test_code(&read(&file))));
        }
        for name in workspace_dependencies(&read(&dir.join("Cargo.toml"))) {
            if crates.insert(name.clone()) {
                dirs.push(library_dir(&name));
            }
        }
    }
    (vars, crates)
}

/// Where a library crate of the workspace lives: `shared` is the facade, the layers
/// are beneath it.
fn library_dir(name: &str) -> PathBuf {
    match name {
        "shared" => repo().join("shared"),
        layer => repo().join("shared").join(layer),
    }
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs")
            && !path
                .file_stem()
                .is_some_and(|s| s.to_string_lossy().ends_with("_tests"))
        {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The code before the first `#[cfg(test)]` (unit tests set variables they never read).
fn non_test_code(text: &str) -> String {
    text.split("#[cfg(test)]").next().unwrap_or_default().to_string()
}

/// String literals that are exactly an FDW_* name.
fn fdw_literals(code: &str) -> BTreeSet<String> {
    code.split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| {
            s.starts_with("FDW_")
                && s.len() > 4
                && s.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn env_var_scanner_finds_reads_and_crate_dependencies() {
    let code = r#"use fdw_bridge_report::ReportSettings;
        let a = get("FDW_A_B"); let e = "FDW_A: bad"; let b = endpoint("FDW_C");
        #[cfg(test)] mod tests { const X: &str = "FDW_TEST_ONLY"; }"#;
    let code = non_test_code(code);
    assert_eq!(
        fdw_literals(&code),
        BTreeSet::from(["FDW_A_B".to_string(), "FDW_C".to_string()])
    );
    let manifest = "[package]\nname = \"fdw-report\"\n\n[dependencies]\nfdw-bridge-report.workspace = true\n\
        fdw-bridge-runtime = { workspace = true }\ntokio.workspace = true\n\n[dev-dependencies]\nfdw-bridge-testkit.workspace = true\n";
    assert_eq!(
        workspace_dependencies(manifest),
        BTreeSet::from(["report".to_string(), "runtime".to_string()])
    );
}

// ------------------------------------------------------------------ the checks

struct TemplateFunction {
    logical_id: String,
    binary: String,
    code_uri: String,
    properties: Value,
    env: BTreeMap<String, Value>,
}

fn cargo_lambda_functions(t: &Value) -> Vec<TemplateFunction> {
    let globals = &t["Globals"]["Function"];
    let mut out = Vec::new();
    for (id, r) in t["Resources"].as_object().expect("Resources") {
        if r["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        assert_eq!(
            r["Metadata"]["BuildMethod"], "rust-cargolambda",
            "{id}: every function is a Rust crate built by cargo-lambda (Metadata.BuildMethod)"
        );
        let mut env = BTreeMap::new();
        for source in [
            &globals["Environment"]["Variables"],
            &r["Properties"]["Environment"]["Variables"],
        ] {
            if let Some(vars) = source.as_object() {
                env.extend(vars.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        let mut properties = globals.clone();
        if let (Some(p), Some(own)) = (properties.as_object_mut(), r["Properties"].as_object()) {
            p.extend(own.clone());
        }
        out.push(TemplateFunction {
            logical_id: id.clone(),
            binary: r["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap_or_else(|| panic!("{id}: Metadata.BuildProperties.Binary names the crate's binary"))
                .to_string(),
            code_uri: r["Properties"]["CodeUri"]
                .as_str()
                .unwrap_or_else(|| panic!("{id}: CodeUri is the crate's directory"))
                .to_string(),
            properties,
            env,
        });
    }
    out
}

fn crate_name(dir: &Path) -> String {
    let toml = read(&dir.join("Cargo.toml"));
    toml.lines()
        .skip_while(|l| l.trim() != "[package]")
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "name").then(|| v.trim().trim_matches('"').to_string())
        })
        .unwrap_or_else(|| panic!("{}: no [package] name", dir.display()))
}

#[test]
fn every_function_crate_has_a_template_function_and_back() {
    for (name, t) in templates() {
        function_crates_match(name, &t);
    }
}

fn function_crates_match(template_name: &str, t: &Value) {
    let functions = cargo_lambda_functions(t);
    let in_template: BTreeSet<String> = functions.iter().map(|f| f.binary.clone()).collect();
    let mut crates = BTreeSet::new();
    for entry in std::fs::read_dir(repo().join("functions"))
        .expect("functions/")
        .flatten()
    {
        if entry.path().join("src/main.rs").is_file() {
            crates.insert(crate_name(&entry.path()));
        }
    }
    assert_eq!(
        in_template, crates,
        "{template_name}: template functions (Metadata.BuildProperties.Binary) and crates under functions/ differ"
    );
    for f in &functions {
        let dir = repo().join(&f.code_uri);
        assert_eq!(
            crate_name(&dir),
            f.binary,
            "{}: CodeUri {} holds another crate than its Binary",
            f.logical_id,
            f.code_uri
        );
        assert_eq!(f.properties["Runtime"], "provided.al2023", "{}: Runtime", f.logical_id);
        assert_eq!(
            f.properties["Architectures"],
            json!(["arm64"]),
            "{}: Architectures",
            f.logical_id
        );
        assert_eq!(f.properties["Handler"], "bootstrap", "{}: Handler", f.logical_id);
    }
}

#[test]
fn each_function_sets_exactly_the_variables_its_code_reads() {
    for (name, t) in templates() {
        variables_match(name, &t);
    }
}

fn variables_match(template_name: &str, t: &Value) {
    let functions = cargo_lambda_functions(t);
    assert!(!functions.is_empty(), "{template_name} has no function");
    let logging = read(&repo().join("shared/runtime/src/logging.rs"));
    let mut problems = Vec::new();
    for f in &functions {
        let (read_by_code, modules) = env_vars_read(&repo().join(&f.code_uri));
        assert!(
            read_by_code.contains("FDW_CA_BUNDLE"),
            "{}: the scanner found no FDW_CA_BUNDLE in {} (+ shared modules {modules:?}): is it broken?",
            f.logical_id,
            f.code_uri
        );
        let set: BTreeSet<String> = f.env.keys().cloned().collect();
        for missing in read_by_code.difference(&set) {
            problems.push(format!(
                "{}: the code reads {missing} but {template_name} does not set it",
                f.logical_id
            ));
        }
        for unknown in set.difference(&read_by_code) {
            problems.push(format!(
                "{}: {template_name} sets {unknown}, which the code never reads (modules scanned: {modules:?})",
                f.logical_id
            ));
        }
        // Lambda's own logging controls come from LoggingConfig, never from Environment.
        if modules.contains("runtime") && logging.contains("AWS_LAMBDA_LOG_LEVEL") {
            let config = &f.properties["LoggingConfig"];
            if config["LogFormat"].is_null() || config["ApplicationLogLevel"].is_null() {
                problems.push(format!(
                    "{}: the code follows AWS_LAMBDA_LOG_LEVEL/FORMAT: set LoggingConfig.LogFormat and ApplicationLogLevel",
                    f.logical_id
                ));
            }
        }
        for name in set.iter().filter(|n| n.starts_with("AWS_") || n.starts_with("LAMBDA_")) {
            problems.push(format!(
                "{}: {name} is reserved for Lambda; do not set it in Environment",
                f.logical_id
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{template_name} and the code disagree:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_ca_bundle_is_the_layer_that_fetch_rds_ca_fills() {
    for (_, t) in templates() {
        ca_bundle_in_layer(&t);
    }
}

fn ca_bundle_in_layer(t: &Value) {
    let layers: Vec<(&String, &Value)> = t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::LayerVersion")
        .collect();
    assert_eq!(layers.len(), 1, "one layer: the RDS CA bundle");
    let (layer_id, layer) = layers[0];
    let content = layer["Properties"]["ContentUri"].as_str().expect("ContentUri");
    let script = read(&repo().join("scripts/fetch-rds-ca.sh"));
    for f in cargo_lambda_functions(t) {
        let bundle = f.env["FDW_CA_BUNDLE"].as_str().expect("FDW_CA_BUNDLE is a plain path");
        let in_layer = bundle
            .strip_prefix("/opt/")
            .unwrap_or_else(|| panic!("{}: FDW_CA_BUNDLE {bundle} is not in a layer (/opt)", f.logical_id));
        let local = format!("{}/{in_layer}", content.trim_end_matches('/'));
        assert!(
            script.contains(&format!("$REPO/{local}")),
            "{}: FDW_CA_BUNDLE {bundle} is {local} in the layer, which scripts/fetch-rds-ca.sh does not write",
            f.logical_id
        );
        assert_eq!(
            f.properties["Layers"],
            json!([{"Ref": layer_id}]),
            "{}: the function must carry the CA layer",
            f.logical_id
        );
    }
}

#[test]
fn fdw_links_pass_the_bootstraps_own_property_validation() {
    for (name, t) in templates() {
        links_validate(name, &t);
    }
}

fn links_validate(template_name: &str, t: &Value) {
    let params = t["Parameters"].as_object().cloned().unwrap_or_default();
    let functions = cargo_lambda_functions(t);
    let mut links = 0;
    for (id, r) in t["Resources"].as_object().unwrap() {
        if r["Type"] != "Custom::FdwLink" {
            continue;
        }
        links += 1;
        let token = &r["Properties"]["ServiceToken"]["Fn::GetAtt"];
        let served_by = functions
            .iter()
            .find(|f| token == &json!([f.logical_id, "Arn"]))
            .unwrap_or_else(|| panic!("{id}: ServiceToken must be !GetAtt <a template function>.Arn, is {token}"));
        assert_eq!(
            served_by.binary, "fdw-bootstrap",
            "{id}: served by {}",
            served_by.binary
        );
        for conditions in [true, false] {
            let props = resolve(&r["Properties"], &params, conditions).expect("properties");
            if let Err(e) = fdw_bridge::bootstrap::parse_link_properties(&props) {
                panic!("{id} (conditions {conditions}): {e}\nproperties with placeholders: {props:#}");
            }
        }
    }
    assert!(links > 0, "{template_name} has no Custom::FdwLink");
}

/// Every `Custom::AuroraReplicaCleanup` is served by fdw-bootstrap and passes its
/// property validation (a misspelt property would fail the stack's Create).
#[test]
fn replica_cleanups_pass_the_bootstraps_own_property_validation() {
    let t = template();
    let params = t["Parameters"].as_object().cloned().unwrap_or_default();
    let functions = cargo_lambda_functions(&t);
    let mut cleanups = 0;
    for (id, r) in t["Resources"].as_object().unwrap() {
        if r["Type"] != "Custom::AuroraReplicaCleanup" {
            continue;
        }
        cleanups += 1;
        let token = &r["Properties"]["ServiceToken"]["Fn::GetAtt"];
        let served_by = functions
            .iter()
            .find(|f| token == &json!([f.logical_id, "Arn"]))
            .unwrap_or_else(|| panic!("{id}: ServiceToken must be !GetAtt <a template function>.Arn, is {token}"));
        assert_eq!(
            served_by.binary, "fdw-bootstrap",
            "{id}: served by {}",
            served_by.binary
        );
        let props = resolve(&r["Properties"], &params, true).expect("properties");
        fdw_bridge::bootstrap::parse_replica_cleanup_properties(&props).unwrap_or_else(|e| panic!("{id}: {e}"));
        // The same check refuses a misspelt property.
        let mut broken = props.clone();
        broken["ClusterIdentifer"] = broken["ClusterIdentifier"].take();
        broken.as_object_mut().unwrap().remove("ClusterIdentifier");
        assert!(fdw_bridge::bootstrap::parse_replica_cleanup_properties(&broken).is_err());
    }
    assert_eq!(
        cleanups, 1,
        "template.yaml has one Custom::AuroraReplicaCleanup (cluster A's auto-scaled readers)"
    );
}

#[test]
fn property_validation_catches_a_broken_link() {
    // The check above can fail: the same resolution of a link with a misspelt option is refused.
    let t = template();
    let params = t["Parameters"].as_object().cloned().unwrap_or_default();
    let mut link = t["Resources"]["FdwLink"]["Properties"].clone();
    link["ServerOptions"]["FetchSise"] = json!("100");
    let props = resolve(&link, &params, true).unwrap();
    let e = fdw_bridge::bootstrap::parse_link_properties(&props).unwrap_err();
    assert!(e.to_string().contains("ServerOptions.FetchSise"), "{e}");
}

/// `Fn::Sub` text with each `${Name}` as [`resolve`] would give it: a parameter's
/// default, `ref-<Resource>`, or `getatt-<Resource>-<Attribute>`.
fn substitute(text: &str, params: &Map<String, Value>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("a closed ${...}") + start;
        let name = &rest[start + 2..end];
        let value = match name.split_once('.') {
            Some((resource, attribute)) => format!("getatt-{resource}-{attribute}"),
            None => match parameter_value(name, params) {
                Value::String(s) => s,
                other => other.to_string(),
            },
        };
        out.push_str(&value);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn the_refresh_schedule_sends_what_fdw_bootstrap_accepts_for_the_links_own_cluster() {
    // fdw-bootstrap's schedule must be a Refresh event that its parser takes, naming
    // the same local cluster as every Custom::FdwLink it serves (where the links are stored).
    for (name, t) in templates() {
        refresh_names_the_links_cluster(name, &t);
    }
    let params = template()["Parameters"].as_object().cloned().unwrap_or_default();
    assert_eq!(
        substitute("a ${UsersCluster.Endpoint.Address} ${LinkRefreshDryRun}", &params),
        "a getatt-UsersCluster-Endpoint.Address false"
    );
}

fn refresh_names_the_links_cluster(template_name: &str, t: &Value) {
    let params = t["Parameters"].as_object().cloned().unwrap_or_default();
    let bootstrap = cargo_lambda_functions(t)
        .into_iter()
        .find(|f| f.binary == "fdw-bootstrap")
        .unwrap_or_else(|| panic!("fdw-bootstrap in {template_name}"));
    let input = &bootstrap.properties["Events"]["LinkRefresh"]["Properties"]["Input"]["Fn::Sub"];
    let text = substitute(input.as_str().expect("Input is !Sub '<JSON>'"), &params);
    let event: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("the refresh Input is not JSON ({e}): {text}"));
    let request = fdw_bridge::bootstrap::refresh_request(&event)
        .expect("the schedule sends Action: Refresh")
        .unwrap_or_else(|e| panic!("fdw-bootstrap refuses the schedule's input: {e}"));
    assert!(
        !request.dry_run,
        "the refresh applies by default (LinkRefreshDryRun false)"
    );
    let links = fdw_links(t);
    assert!(!links.is_empty(), "{template_name} has no Custom::FdwLink");
    for (id, link) in links {
        let link = resolve(&link["Properties"], &params, true).unwrap();
        let props = fdw_bridge::bootstrap::parse_link_properties(&link).unwrap();
        assert_eq!(
            request.local, props.local,
            "{template_name}: the schedule must name {id}'s LocalCluster"
        );
    }
}

#[test]
fn report_schedules_send_what_fdw_report_accepts() {
    // Each ScheduleV2 Input, with the Scheduler's context attributes filled in as the
    // Scheduler does at run time, must parse as fdw-report's event and name known reports.
    for (name, t) in templates() {
        report_schedules_parse(name, &t);
    }
}

fn report_schedules_parse(template_name: &str, t: &Value) {
    let catalog = fdw_bridge::report::Catalog::shipped().expect("reports/ catalog");
    let mut schedules = 0;
    for f in cargo_lambda_functions(t) {
        let Some(events) = f.properties["Events"].as_object() else {
            continue;
        };
        for (name, event) in events {
            assert_eq!(
                event["Type"], "ScheduleV2",
                "{}.{name}: schedules use EventBridge Scheduler",
                f.logical_id
            );
            let p = &event["Properties"];
            assert!(
                p["DeadLetterConfig"]["Arn"].is_object() && p["RetryPolicy"]["MaximumRetryAttempts"].is_number(),
                "{}.{name}: a schedule needs a dead-letter queue and a retry policy",
                f.logical_id
            );
            if f.binary == "fdw-bootstrap" {
                // The link refresh: checked in the test above.
                continue;
            }
            assert_eq!(
                f.binary, "fdw-report",
                "{}.{name}: only fdw-report and fdw-bootstrap's refresh are scheduled",
                f.logical_id
            );
            let input = p["Input"].as_str().expect("Input is a JSON string");
            let filled = input
                .replace("<aws.scheduler.scheduled-time>", "2026-03-04T00:15:00Z")
                .replace("<aws.scheduler.execution-id>", "c0ffee00-0000-4000-8000-000000000001");
            let value: Value = serde_json::from_str(&filled).expect("Input is JSON");
            let request = fdw_bridge::report::parse_event(&value)
                .unwrap_or_else(|e| panic!("{}.{name}: fdw-report refuses the schedule's input: {e}", f.logical_id));
            catalog
                .select(request.reports.as_deref())
                .unwrap_or_else(|e| panic!("{}.{name}: {e}", f.logical_id));
            schedules += 1;
        }
    }
    assert!(schedules > 0, "no report schedule in {template_name}");
}

/// An fdw-report variable as CloudFormation passes it: `Fn::If` on `conditions`,
/// `Fn::Sub` text through [`substitute`], a literal as is.
fn report_variable(v: &Value, params: &Map<String, Value>, conditions: bool) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(o) if o.contains_key("Fn::If") => {
            report_variable(&o["Fn::If"][if conditions { 1 } else { 2 }], params, conditions)
        }
        Value::Object(o) if o["Fn::Sub"].is_string() => substitute(o["Fn::Sub"].as_str().unwrap_or_default(), params),
        other => panic!("fdw-report variable {other}: expected a string, !Sub or !If"),
    }
}

#[test]
fn report_links_setting_is_what_fdw_report_accepts_and_runs_every_shipped_report_it_can() {
    // FDW_REPORT_SCHEMA and FDW_REPORT_LINKS as each template sets them (with a cluster C named
    // `payments`, and without one) parse as fdw-report's settings; "all" then runs every shipped
    // report whose links the template gives, and the report across B and C only where C is.
    let catalog = fdw_bridge::report::Catalog::shipped().expect("reports/ catalog");
    let across: Vec<&str> = catalog
        .reports()
        .iter()
        .filter(|r| r.links().len() > 1)
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(across, ["orders_and_payments_by_country"]);
    let all = fdw_bridge::report::parse_event(&json!({"reports": ["all"], "scheduledTime": "2026-03-04T06:00:00Z"}))
        .expect("an event for all reports");
    for (name, t) in templates() {
        let mut params = t["Parameters"].as_object().cloned().unwrap_or_default();
        if let Some(p) = params.get_mut("ClusterCLinkName") {
            p["Default"] = json!("payments");
        }
        let report = cargo_lambda_functions(&t)
            .into_iter()
            .find(|f| f.binary == "fdw-report")
            .unwrap_or_else(|| panic!("fdw-report in {name}"));
        for conditions in [true, false] {
            let env: BTreeMap<String, String> = ["FDW_REPORT_SCHEMA", "FDW_REPORT_LINKS"]
                .iter()
                .map(|k| (k.to_string(), report_variable(&report.env[*k], &params, conditions)))
                .collect();
            let settings = fdw_bridge::report::ReportSettings::from_lookup(|k| match k {
                "FDW_CA_BUNDLE" => Some("/opt/global-bundle.pem".into()),
                "FDW_REPORT_READER_SECRET_ARN" | "FDW_REPORT_WRITER_SECRET_ARN" => Some("arn:x".into()),
                _ => env.get(k).cloned(),
            })
            .unwrap_or_else(|e| panic!("{name} (conditions {conditions}): fdw-report refuses {env:?}: {e}"));
            let links = fdw_bridge::report::ReportLinks::from_settings(&settings);
            let jobs = fdw_bridge::report::jobs(&catalog, &all, &links)
                .unwrap_or_else(|e| panic!("{name} (conditions {conditions}): {e}"));
            let has_c = name == "template-existing.yaml" && conditions;
            assert_eq!(
                jobs.len(),
                catalog.reports().len() - if has_c { 0 } else { across.len() },
                "{name} (conditions {conditions}): {env:?}"
            );
            if has_c {
                assert_eq!(settings.links["payments"].schema, "payments_remote");
                // Link C's schema is the one its Custom::FdwLink imports into.
                let c = &t["Resources"]["FdwLinkC"]["Properties"]["ImportSchemas"][0]["LocalSchema"];
                assert_eq!(report_variable(c, &params, true), "payments_remote");
            }
        }
    }
}
