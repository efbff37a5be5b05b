//! `#[entity]` on an impl block and on a function.

#![allow(unreachable_pub)]

use std::sync::Arc;

use durafn::core::entity::run_operation;
use durafn::prelude::*;
use durafn::{Entity, Payload};
use serde::{Deserialize, Serialize};

#[derive(Default, Serialize, Deserialize)]
struct Counter {
    value: i64,
}

#[entity]
impl Counter {
    pub fn add(&mut self, amount: i64) {
        self.value += amount;
    }

    pub fn get(&self) -> i64 {
        self.value
    }

    pub fn checked_sub(&mut self, amount: i64) -> Result<i64, FunctionError> {
        if amount > self.value {
            return Err(FunctionError::msg("would go negative"));
        }
        self.value -= amount;
        Ok(self.value)
    }

    pub fn forward(&mut self, ctx: &mut EntityContext, to: String) {
        ctx.signal_entity(&EntityId::new("counter", to), "add", &self.value);
    }

    fn helper(&self) -> i64 {
        self.value * 2
    }
}

#[entity(name = "Greeter")]
fn greeter(ctx: &mut EntityContext) -> Result<String, FunctionError> {
    let name: String = ctx.input()?;
    Ok(format!("hello {name}"))
}

fn run(
    entity: &Arc<dyn Entity>,
    op: &str,
    input: serde_json::Value,
    state: Option<Payload>,
) -> (Option<Payload>, usize, Result<serde_json::Value, String>) {
    let (state, effects, result) = run_operation(
        entity,
        EntityId::new("counter", "k"),
        op,
        Payload::from(input),
        state,
    );
    (
        state,
        effects.len(),
        result.map(|p| p.to_value()).map_err(|f| f.message),
    )
}

#[test]
fn class_style_entities_dispatch_public_methods() {
    let counter: Arc<dyn Entity> = Arc::new(Counter::entity());
    assert_eq!(counter.name(), "counter");
    let (state, _, r) = run(&counter, "add", serde_json::json!(5), None);
    assert_eq!(r, Ok(serde_json::Value::Null));
    assert_eq!(
        state.as_ref().map(|s| s.to_value()),
        Some(serde_json::json!({"value": 5}))
    );
    let (_, _, r) = run(&counter, "Get", serde_json::Value::Null, state.clone());
    assert_eq!(r, Ok(serde_json::json!(5)), "operation names ignore case");
    let (after, _, r) = run(&counter, "checked_sub", serde_json::json!(9), state.clone());
    assert_eq!(r, Err("would go negative".to_string()));
    assert_eq!(after, state, "a failed operation leaves the state");
    let (_, effects, _) = run(
        &counter,
        "forward",
        serde_json::json!("other"),
        state.clone(),
    );
    assert_eq!(effects, 1);
    let (_, _, r) = run(&counter, "helper", serde_json::Value::Null, state.clone());
    assert!(
        r.unwrap_err().contains("has no operation 'helper'"),
        "private methods are not operations"
    );
    let (deleted, _, _) = run(&counter, "delete", serde_json::Value::Null, state);
    assert_eq!(deleted, None, "delete is built in");
    let _ = Counter::default().helper();
}

#[test]
fn function_style_entities_register_under_their_name() {
    let entity: Arc<dyn Entity> = Arc::new(greeter);
    assert_eq!(entity.name(), "Greeter");
    let (_, _, r) = run(&entity, "hi", serde_json::json!("ann"), None);
    assert_eq!(r, Ok(serde_json::json!("hello ann")));
    let registry = Registry::builder()
        .entity(Counter::entity())
        .entity(greeter_entity())
        .build()
        .unwrap();
    assert_eq!(registry.entity_names(), ["Greeter", "counter"]);
}

fn greeter_entity() -> impl Entity {
    greeter
}
