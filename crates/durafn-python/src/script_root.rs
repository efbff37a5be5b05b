//! A script-root function app on disk: which programming model it uses, its `function.json`
//! folders (v1), and the interpreter it runs with.
//!
//! Every problem with a `function.json` is a [`LoadError`] naming the file and the field, so
//! `durafn start` can refuse to start with a message that points at the line to fix.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::protocol::FunctionSpec;

/// The file of a v2 app (unless the `PYTHON_SCRIPT_FILE_NAME` setting names another).
pub const V2_SCRIPT: &str = "function_app.py";

/// The app setting naming the v2 script.
pub const SCRIPT_FILE_SETTING: &str = "PYTHON_SCRIPT_FILE_NAME";

/// The app setting naming the interpreter when the app has no `.venv`.
pub const PYTHON_SETTING: &str = "languageWorkers__python__defaultExecutablePath";

/// The binding types durafn serves.
pub const SUPPORTED_BINDINGS: &[&str] = &[
    "httpTrigger",
    "http",
    "durableClient",
    "orchestrationClient",
    "orchestrationTrigger",
    "activityTrigger",
    "entityTrigger",
];

const TRIGGERS: &[&str] = &[
    "httpTrigger",
    "orchestrationTrigger",
    "activityTrigger",
    "entityTrigger",
];

const METHODS: &[&str] = &[
    "get", "post", "put", "patch", "delete", "head", "options", "trace",
];

/// A problem with one function of the app, or with the app as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// The file at fault, relative to the script root.
    pub file: String,
    /// The field at fault (`bindings[0].authLevel`, `scriptFile`, `entryPoint`), if one is.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl LoadError {
    pub(crate) fn new(
        file: impl Into<String>,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.into(),
            field: field.map(str::to_string),
            message: message.into(),
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{}: {field}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// How the app declares its functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Model {
    /// One folder per function, each with a `function.json`.
    V1,
    /// Decorators in one script (`function_app.py`), whose functions the worker reports.
    V2 {
        /// The script, relative to the script root.
        script: String,
    },
}

/// A script root as read from disk.
#[derive(Debug, Clone)]
pub struct ScriptRoot {
    /// The directory (absolute).
    pub root: PathBuf,
    /// The programming model.
    pub model: Model,
    /// The v1 functions (empty for v2) whose `function.json` is valid.
    pub functions: Vec<FunctionSpec>,
    /// The problems of the `function.json` files left out of `functions`.
    pub errors: Vec<LoadError>,
}

/// The interpreter of an app: `.venv/bin/python` under the script root if there is one, else
/// the `languageWorkers__python__defaultExecutablePath` setting, else `python3` from `PATH`.
pub fn interpreter(root: &Path, setting: Option<&str>) -> PathBuf {
    let venv = root.join(".venv").join("bin").join("python");
    if venv.exists() {
        return venv;
    }
    match setting.map(str::trim).filter(|s| !s.is_empty()) {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from("python3"),
    }
}

impl ScriptRoot {
    /// Reads the app under `root`; `script_setting` is the `PYTHON_SCRIPT_FILE_NAME` setting.
    /// A bad `function.json` leaves its function out and is listed in `errors`; only a root
    /// that cannot be read at all is an error.
    pub fn read(root: &Path, script_setting: Option<&str>) -> Result<Self, Vec<LoadError>> {
        let root = std::path::absolute(root).map_err(|e| {
            vec![LoadError::new(
                root.display().to_string(),
                None,
                e.to_string(),
            )]
        })?;
        if !root.is_dir() {
            return Err(vec![LoadError::new(
                root.display().to_string(),
                None,
                "the script root is not a directory",
            )]);
        }
        let script = script_setting
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or(V2_SCRIPT);
        if root.join(script).is_file() {
            return Ok(Self {
                root,
                model: Model::V2 {
                    script: script.to_string(),
                },
                functions: Vec::new(),
                errors: Vec::new(),
            });
        }
        let mut folders: Vec<PathBuf> = std::fs::read_dir(&root)
            .map_err(|e| {
                vec![LoadError::new(
                    root.display().to_string(),
                    None,
                    e.to_string(),
                )]
            })?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.join("function.json").is_file())
            .collect();
        folders.sort();
        let mut functions = Vec::new();
        let mut errors = Vec::new();
        for folder in folders {
            let name = folder
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let file = format!("{name}/function.json");
            let text = match std::fs::read_to_string(folder.join("function.json")) {
                Ok(text) => text,
                Err(e) => {
                    errors.push(LoadError::new(
                        file,
                        None,
                        format!("could not be read: {e}"),
                    ));
                    continue;
                }
            };
            match parse_function_json(&name, &file, &text) {
                Ok(Some(spec)) => functions.push(spec),
                Ok(None) => {
                    tracing::info!(function = %name, "function {name} is disabled in {file}")
                }
                Err(mut e) => errors.append(&mut e),
            }
        }
        Ok(Self {
            root,
            model: Model::V1,
            functions,
            errors,
        })
    }
}

/// Parses one `function.json`; `None` for a function marked `"disabled": true`.
pub fn parse_function_json(
    name: &str,
    file: &str,
    text: &str,
) -> Result<Option<FunctionSpec>, Vec<LoadError>> {
    let one = |field: Option<&str>, message: String| vec![LoadError::new(file, field, message)];
    let value: Value =
        serde_json::from_str(text).map_err(|e| one(None, format!("invalid JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(one(None, "expected a JSON object".into()));
    };
    let text_field = |key: &str| -> Result<Option<String>, Vec<LoadError>> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
            Some(other) => Err(one(
                Some(key),
                format!("expected a file or function name, found {other}"),
            )),
        }
    };
    let script_file = text_field("scriptFile")?;
    let entry_point = text_field("entryPoint")?;
    match map.get("disabled") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => return Ok(None),
        Some(other) => {
            return Err(one(
                Some("disabled"),
                format!("expected true or false, found {other}"),
            ));
        }
    }
    let bindings = match map.get("bindings") {
        Some(Value::Array(b)) => b.clone(),
        None => {
            return Err(one(
                Some("bindings"),
                "missing: a function needs a trigger binding".into(),
            ));
        }
        Some(other) => {
            return Err(one(
                Some("bindings"),
                format!("expected an array, found {other}"),
            ));
        }
    };
    let mut errors = Vec::new();
    let mut triggers = 0;
    for (i, binding) in bindings.iter().enumerate() {
        let at = |key: &str| format!("bindings[{i}].{key}");
        let Value::Object(b) = binding else {
            errors.push(LoadError::new(
                file,
                Some(&format!("bindings[{i}]")),
                "expected an object",
            ));
            continue;
        };
        match string(b, "type") {
            Some(t) if SUPPORTED_BINDINGS.contains(&t) => {
                if TRIGGERS.contains(&t) {
                    triggers += 1;
                }
                if t == "httpTrigger" {
                    check_http_trigger(b, &at, file, &mut errors);
                }
            }
            Some(t) => errors.push(LoadError::new(
                file,
                Some(&at("type")),
                format!(
                    "binding type {t:?} is not supported (durafn serves {})",
                    SUPPORTED_BINDINGS.join(", ")
                ),
            )),
            None => errors.push(LoadError::new(
                file,
                Some(&at("type")),
                "missing or not a string",
            )),
        }
        match string(b, "direction") {
            Some(d) if ["in", "out", "inout"].contains(&d.to_ascii_lowercase().as_str()) => {}
            Some(d) => errors.push(LoadError::new(
                file,
                Some(&at("direction")),
                format!("expected in or out, found {d:?}"),
            )),
            None => errors.push(LoadError::new(
                file,
                Some(&at("direction")),
                "missing or not a string",
            )),
        }
        if string(b, "name").is_none_or(str::is_empty) {
            errors.push(LoadError::new(
                file,
                Some(&at("name")),
                "missing or not a string",
            ));
        }
    }
    if errors.is_empty() && triggers != 1 {
        errors.push(LoadError::new(
            file,
            Some("bindings"),
            format!("a function needs exactly one trigger binding, found {triggers}"),
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Some(FunctionSpec {
        name: name.to_string(),
        directory: name.to_string(),
        script_file,
        entry_point,
        bindings,
    }))
}

fn string<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

fn check_http_trigger(
    b: &Map<String, Value>,
    at: &dyn Fn(&str) -> String,
    file: &str,
    errors: &mut Vec<LoadError>,
) {
    match b.get("authLevel") {
        None | Some(Value::Null) => {}
        Some(Value::String(level))
            if ["anonymous", "function", "admin"]
                .contains(&level.to_ascii_lowercase().as_str()) => {}
        Some(other) => errors.push(LoadError::new(
            file,
            Some(&at("authLevel")),
            format!("expected anonymous, function or admin, found {other}"),
        )),
    }
    match b.get("methods") {
        None | Some(Value::Null) => {}
        Some(Value::Array(methods)) => {
            for (j, m) in methods.iter().enumerate() {
                match m.as_str() {
                    Some(m) if METHODS.contains(&m.to_ascii_lowercase().as_str()) => {}
                    _ => errors.push(LoadError::new(
                        file,
                        Some(&at(&format!("methods[{j}]"))),
                        format!("{m} is not an HTTP method"),
                    )),
                }
            }
        }
        Some(other) => errors.push(LoadError::new(
            file,
            Some(&at("methods")),
            format!("expected an array of methods, found {other}"),
        )),
    }
    match b.get("route") {
        None | Some(Value::Null) => {}
        Some(Value::String(route)) => {
            let opens = route.matches('{').count();
            let closes = route.matches('}').count();
            if opens != closes
                || route.contains('?') && !route.contains("?}")
                || route.contains('#')
            {
                errors.push(LoadError::new(
                    file,
                    Some(&at("route")),
                    format!("{route:?} is not a valid route template"),
                ));
            }
        }
        Some(other) => errors.push(LoadError::new(
            file,
            Some(&at("route")),
            format!("expected a string, found {other}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        parse_function_json("f", "f/function.json", text)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn the_seed_app_reads() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/python/audit-query");
        let app = ScriptRoot::read(&root, None).unwrap();
        assert_eq!(app.model, Model::V1);
        let names: Vec<&str> = app.functions.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "client-function",
                "get-status-function",
                "orchestrator-function",
                "query-storage-account-activity-function"
            ]
        );
        assert_eq!(app.functions[0].script_file.as_deref(), Some("__init__.py"));
        let v2 = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/python/v2-showcase");
        assert_eq!(
            ScriptRoot::read(&v2, None).unwrap().model,
            Model::V2 {
                script: V2_SCRIPT.into()
            }
        );
    }

    #[test]
    fn errors_name_the_file_and_the_field() {
        assert_eq!(
            errors("{"),
            ["f/function.json: invalid JSON: EOF while parsing an object at line 1 column 1"]
        );
        assert_eq!(
            errors("{}"),
            ["f/function.json: bindings: missing: a function needs a trigger binding"]
        );
        assert_eq!(
            errors(r#"{"scriptFile": 3, "bindings": []}"#),
            ["f/function.json: scriptFile: expected a file or function name, found 3"]
        );
        assert_eq!(
            errors(r#"{"bindings": [{"type": "queueTrigger", "direction": "in", "name": "m"}]}"#),
            [
                "f/function.json: bindings[0].type: binding type \"queueTrigger\" is not supported (durafn serves httpTrigger, http, durableClient, orchestrationClient, orchestrationTrigger, activityTrigger, entityTrigger)"
            ]
        );
        assert_eq!(
            errors(
                r#"{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "public", "methods": ["get", "brew"]}]}"#
            ),
            [
                "f/function.json: bindings[0].authLevel: expected anonymous, function or admin, found \"public\"",
                "f/function.json: bindings[0].methods[1]: \"brew\" is not an HTTP method"
            ]
        );
        assert_eq!(
            errors(r#"{"bindings": [{"type": "http", "direction": "out", "name": "$return"}]}"#),
            ["f/function.json: bindings: a function needs exactly one trigger binding, found 0"]
        );
        assert_eq!(
            errors(r#"{"bindings": [{"type": "activityTrigger", "direction": "sideways"}]}"#),
            [
                "f/function.json: bindings[0].direction: expected in or out, found \"sideways\"",
                "f/function.json: bindings[0].name: missing or not a string"
            ]
        );
        assert!(
            parse_function_json("f", "f", r#"{"disabled": true, "bindings": []}"#)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn the_interpreter_prefers_the_apps_venv() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(interpreter(dir.path(), None), PathBuf::from("python3"));
        assert_eq!(
            interpreter(dir.path(), Some("/opt/py/bin/python")),
            PathBuf::from("/opt/py/bin/python")
        );
        std::fs::create_dir_all(dir.path().join(".venv/bin")).unwrap();
        std::fs::write(dir.path().join(".venv/bin/python"), "").unwrap();
        assert_eq!(
            interpreter(dir.path(), Some("/opt/py/bin/python")),
            dir.path().join(".venv/bin/python")
        );
    }
}
