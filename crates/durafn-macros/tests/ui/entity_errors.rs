use durafn::prelude::*;

#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Account {
    balance: i64,
}

#[entity]
impl Account {
    pub async fn deposit(&mut self, amount: i64) {
        self.balance += amount;
    }
}

#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Pair {
    a: i64,
}

#[entity]
impl Pair {
    pub fn set(&mut self, a: i64, b: i64) {
        self.a = a + b;
    }
}

#[entity]
fn no_context(amount: i64) -> Result<i64, FunctionError> {
    Ok(amount)
}

fn main() {}
