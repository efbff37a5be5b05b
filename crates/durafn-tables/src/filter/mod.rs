//! The OData `$filter` language of Azure Table Storage: syntax tree, parser,
//! printer and parameter binding.
//!
//! The sample app states its query once, as text
//! (`PartitionKey ge @start and PartitionKey le @end and CertNumber ne ''`),
//! and runs it either on the embedded store, which evaluates it in Rust, or
//! on Azure Table Storage, which receives it printed back as `$filter`. One
//! tree serves both, so the two stores cannot disagree about what the query
//! says.
//!
//! # Grammar
//!
//! ```text
//! filter     := or
//! or         := and ( "or" and )*
//! and        := unary ( "and" unary )*
//! unary      := "not" unary | primary
//! primary    := "(" or ")" | operand [ cmp-op operand ]   -- a lone operand must be true/false
//! cmp-op     := "eq" | "ne" | "gt" | "ge" | "lt" | "le"
//! operand    := property | literal | "@" name
//! literal    := 'text' ('' escapes a quote) | 123 (Int32) | 123L (Int64)
//!             | 1.5, 1e3, -2.5E-3 (Double) | true | false
//!             | datetime'2021-10-10T00:00:00Z' | guid'…' | X'0aff' | binary'0aff'
//! ```
//!
//! Precedence, tightest first: `not`, comparison, `and`, `or`. `not` applies
//! to the comparison that follows it (`not A eq 1` means `not (A eq 1)`), a
//! pragmatic reading of a construct that plain OData would reject as a type
//! error; the printer always writes the parentheses. Keywords and operators
//! are lower case, as in OData; the reserved words (`and or not eq ne gt ge
//! lt le true false null`) cannot be property names.
//!
//! `and` and `or` chains are n-ary nodes, so a long chain of conditions does
//! not make a deep tree; only parentheses and `not` nest, and the parser
//! refuses more than [`MAX_DEPTH`] levels of those, so no input can exhaust
//! the stack. The parser never panics.
//!
//! # Parameters
//!
//! `@name` stands for a value supplied later: [`Filter::bind`] substitutes
//! values from a [`Params`] map and yields a [`BoundFilter`], the only form
//! the evaluator and the stores accept. An unbound parameter is an error, not
//! a silent `null`.

mod parse;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Bound;
use std::str::FromStr;

use chrono::SecondsFormat;

pub use parse::ParseError;

use crate::entity::{PARTITION_KEY, Value};

/// The deepest nesting of parentheses and `not` the parser accepts, so that
/// hostile input cannot overflow the stack of the parser or of any recursive
/// walk over the tree.
pub const MAX_DEPTH: usize = 100;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `eq`: equal.
    Eq,
    /// `ne`: not equal.
    Ne,
    /// `gt`: greater than.
    Gt,
    /// `ge`: greater than or equal.
    Ge,
    /// `lt`: less than.
    Lt,
    /// `le`: less than or equal.
    Le,
}

impl CmpOp {
    /// All operators, for exhaustive tests and generators.
    pub const ALL: [CmpOp; 6] = [
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Gt,
        CmpOp::Ge,
        CmpOp::Lt,
        CmpOp::Le,
    ];

    /// The OData keyword for the operator.
    pub fn keyword(self) -> &'static str {
        match self {
            CmpOp::Eq => "eq",
            CmpOp::Ne => "ne",
            CmpOp::Gt => "gt",
            CmpOp::Ge => "ge",
            CmpOp::Lt => "lt",
            CmpOp::Le => "le",
        }
    }

    /// The operator that gives the same result with the operands swapped
    /// (`a lt b` is `b gt a`), used to normalise `'x' le PartitionKey`.
    pub fn flipped(self) -> CmpOp {
        match self {
            CmpOp::Eq => CmpOp::Eq,
            CmpOp::Ne => CmpOp::Ne,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
        }
    }

    fn from_keyword(word: &str) -> Option<CmpOp> {
        CmpOp::ALL.into_iter().find(|op| op.keyword() == word)
    }
}

impl fmt::Display for CmpOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A property of the entity, system properties included.
    Property(String),
    /// A constant.
    Literal(Value),
    /// A named parameter (`@start`), stored without the `@`; replaced by a
    /// literal when the filter is bound.
    Param(String),
}

/// A boolean expression: the syntax tree of a filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `left op right`.
    Compare {
        /// The left operand.
        left: Operand,
        /// The operator.
        op: CmpOp,
        /// The right operand.
        right: Operand,
    },
    /// All of the operands hold. The parser produces at least two; an empty
    /// list is true.
    And(Vec<Expr>),
    /// At least one operand holds. The parser produces at least two; an empty
    /// list is false.
    Or(Vec<Expr>),
    /// The operand does not hold.
    Not(Box<Expr>),
    /// A constant `true` or `false` used as a whole condition.
    Const(bool),
}

impl Expr {
    /// A comparison, for building trees in code.
    pub fn compare(left: Operand, op: CmpOp, right: Operand) -> Expr {
        Expr::Compare { left, op, right }
    }

    /// `property op literal`, the common shape, for building trees in code.
    pub fn prop(name: impl Into<String>, op: CmpOp, value: impl Into<Value>) -> Expr {
        Expr::Compare {
            left: Operand::Property(name.into()),
            op,
            right: Operand::Literal(value.into()),
        }
    }

    /// The distinct property names the expression reads, system properties
    /// included: what a store must decode to evaluate it.
    pub fn property_names(&self) -> BTreeSet<&str> {
        let mut names = BTreeSet::new();
        self.visit_operands(&mut |op| {
            if let Operand::Property(name) = op {
                names.insert(name.as_str());
            }
        });
        names
    }

    fn visit_operands<'a>(&'a self, f: &mut dyn FnMut(&'a Operand)) {
        match self {
            Expr::Compare { left, right, .. } => {
                f(left);
                f(right);
            }
            Expr::And(items) | Expr::Or(items) => {
                for item in items {
                    item.visit_operands(f);
                }
            }
            Expr::Not(inner) => inner.visit_operands(f),
            Expr::Const(_) => {}
        }
    }

    fn map_operands<E>(
        &self,
        f: &mut dyn FnMut(&Operand) -> Result<Operand, E>,
    ) -> Result<Expr, E> {
        Ok(match self {
            Expr::Compare { left, op, right } => Expr::Compare {
                left: f(left)?,
                op: *op,
                right: f(right)?,
            },
            Expr::And(items) => Expr::And(
                items
                    .iter()
                    .map(|e| e.map_operands(f))
                    .collect::<Result<_, E>>()?,
            ),
            Expr::Or(items) => Expr::Or(
                items
                    .iter()
                    .map(|e| e.map_operands(f))
                    .collect::<Result<_, E>>()?,
            ),
            Expr::Not(inner) => Expr::Not(Box::new(inner.map_operands(f)?)),
            Expr::Const(b) => Expr::Const(*b),
        })
    }
}

/// Values for the `@name` parameters of a filter, keyed by name without the
/// `@`.
pub type Params = BTreeMap<String, Value>;

/// Why a filter could not be bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindError {
    /// The filter uses a parameter the map has no value for. Lists every
    /// missing name so one fix suffices.
    #[error("no value for parameter {}", names.iter().map(|n| format!("@{n}")).collect::<Vec<_>>().join(", "))]
    Unbound {
        /// The missing parameter names, without `@`, in order of first use.
        names: Vec<String>,
    },
}

/// A parsed filter, possibly with `@name` parameters still unbound.
///
/// Parse once, bind per run: [`Filter::bind`] is cheap and checks that every
/// parameter has a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    expr: Expr,
}

impl Filter {
    /// Parses `$filter` text. Never panics; see the module docs for the
    /// grammar.
    pub fn parse(text: &str) -> Result<Filter, ParseError> {
        parse::parse(text).map(|expr| Filter { expr })
    }

    /// Wraps a tree built in code.
    pub fn new(expr: Expr) -> Filter {
        Filter { expr }
    }

    /// The syntax tree.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// The distinct parameter names the filter uses, without `@`, in order of
    /// first use: what a caller must supply.
    pub fn params(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        self.expr.visit_operands(&mut |op| {
            if let Operand::Param(name) = op {
                if !names.contains(&name.as_str()) {
                    names.push(name);
                }
            }
        });
        names
    }

    /// Substitutes every `@name` with its value from `params`. Extra entries
    /// in the map are ignored; missing ones are an error naming them all.
    pub fn bind(&self, params: &Params) -> Result<BoundFilter, BindError> {
        let missing: Vec<String> = self
            .params()
            .into_iter()
            .filter(|name| !params.contains_key(*name))
            .map(str::to_owned)
            .collect();
        if !missing.is_empty() {
            return Err(BindError::Unbound { names: missing });
        }
        let expr = self.expr.map_operands(&mut |op| match op {
            Operand::Param(name) => match params.get(name) {
                Some(value) => Ok(Operand::Literal(value.clone())),
                None => Err(BindError::Unbound {
                    names: vec![name.clone()],
                }),
            },
            other => Ok(other.clone()),
        })?;
        Ok(BoundFilter { expr })
    }

    /// Binds a filter that has no parameters (an error naming them if it
    /// has).
    pub fn into_bound(self) -> Result<BoundFilter, BindError> {
        self.bind(&Params::new())
    }
}

impl FromStr for Filter {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Filter::parse(s)
    }
}

impl fmt::Display for Filter {
    /// Prints canonical OData text that parses back to the same tree, for
    /// every tree the parser produces. Trees built in code print their
    /// meaning; a non-finite `Double` literal has no OData form and prints
    /// as `NaN` or `inf`, which does not parse.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_expr(f, &self.expr)
    }
}

/// A filter whose parameters all have values: the form the evaluator and the
/// stores take, so an unbound parameter can never reach a query.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundFilter {
    expr: Expr,
}

impl BoundFilter {
    /// Parses text that has no parameters and binds it, for the common case
    /// of a literal filter.
    pub fn parse(text: &str) -> Result<BoundFilter, FilterError> {
        Ok(Filter::parse(text)?.into_bound()?)
    }

    /// The syntax tree; it contains no [`Operand::Param`].
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// The range of partition keys outside which no entity can match, read
    /// from the top-level `and` conjuncts that compare `PartitionKey` with a
    /// string literal (`eq`, `gt`, `ge`, `lt`, `le`, either operand order).
    ///
    /// Stores use it to read only that key range instead of the whole table;
    /// the full filter still decides each entity, so the range only has to be
    /// a superset of the matches. Filters without such a conjunct (an `or` at
    /// the top, say) give the unbounded range.
    pub fn partition_key_range(&self) -> KeyRange {
        let mut range = KeyRange::default();
        let conjuncts: &[Expr] = match &self.expr {
            Expr::And(items) => items,
            single => std::slice::from_ref(single),
        };
        for conjunct in conjuncts {
            let Expr::Compare { left, op, right } = conjunct else {
                continue;
            };
            let (op, key) = match (left, right) {
                (Operand::Property(p), Operand::Literal(Value::String(s)))
                    if p == PARTITION_KEY =>
                {
                    (*op, s)
                }
                (Operand::Literal(Value::String(s)), Operand::Property(p))
                    if p == PARTITION_KEY =>
                {
                    (op.flipped(), s)
                }
                _ => continue,
            };
            match op {
                CmpOp::Eq => {
                    range.tighten_lower(Bound::Included(key));
                    range.tighten_upper(Bound::Included(key));
                }
                CmpOp::Gt => range.tighten_lower(Bound::Excluded(key)),
                CmpOp::Ge => range.tighten_lower(Bound::Included(key)),
                CmpOp::Lt => range.tighten_upper(Bound::Excluded(key)),
                CmpOp::Le => range.tighten_upper(Bound::Included(key)),
                CmpOp::Ne => {}
            }
        }
        range
    }
}

impl fmt::Display for BoundFilter {
    /// Prints canonical OData text, as sent to Azure Table Storage.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_expr(f, &self.expr)
    }
}

impl From<BoundFilter> for Filter {
    fn from(bound: BoundFilter) -> Filter {
        Filter { expr: bound.expr }
    }
}

/// Either way a filter text can fail to become a [`BoundFilter`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// The text is not a valid filter.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A parameter has no value.
    #[error(transparent)]
    Bind(#[from] BindError),
}

/// A range of partition keys, bounds compared ordinally (byte order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRange {
    /// The lower bound.
    pub lower: Bound<String>,
    /// The upper bound.
    pub upper: Bound<String>,
}

impl Default for KeyRange {
    /// The unbounded range.
    fn default() -> Self {
        KeyRange {
            lower: Bound::Unbounded,
            upper: Bound::Unbounded,
        }
    }
}

impl KeyRange {
    /// Whether `key` lies in the range.
    pub fn contains(&self, key: &str) -> bool {
        let above = match &self.lower {
            Bound::Included(l) => key >= l.as_str(),
            Bound::Excluded(l) => key > l.as_str(),
            Bound::Unbounded => true,
        };
        let below = match &self.upper {
            Bound::Included(u) => key <= u.as_str(),
            Bound::Excluded(u) => key < u.as_str(),
            Bound::Unbounded => true,
        };
        above && below
    }

    fn tighten_lower(&mut self, new: Bound<&String>) {
        let replace = match (&self.lower, &new) {
            (_, Bound::Unbounded) => false,
            (Bound::Unbounded, _) => true,
            (Bound::Included(old) | Bound::Excluded(old), Bound::Included(n)) => *n > old,
            (Bound::Included(old), Bound::Excluded(n)) => *n >= old,
            (Bound::Excluded(old), Bound::Excluded(n)) => *n > old,
        };
        if replace {
            self.lower = new.cloned();
        }
    }

    fn tighten_upper(&mut self, new: Bound<&String>) {
        let replace = match (&self.upper, &new) {
            (_, Bound::Unbounded) => false,
            (Bound::Unbounded, _) => true,
            (Bound::Included(old) | Bound::Excluded(old), Bound::Included(n)) => *n < old,
            (Bound::Included(old), Bound::Excluded(n)) => *n <= old,
            (Bound::Excluded(old), Bound::Excluded(n)) => *n < old,
        };
        if replace {
            self.upper = new.cloned();
        }
    }
}

// ---------------------------------------------------------------------------
// Printer

fn write_expr(f: &mut fmt::Formatter<'_>, expr: &Expr) -> fmt::Result {
    match expr {
        Expr::Compare { left, op, right } => {
            write_operand(f, left)?;
            write!(f, " {op} ")?;
            write_operand(f, right)
        }
        Expr::And(items) => write_chain(f, items, "and", true),
        Expr::Or(items) => write_chain(f, items, "or", false),
        Expr::Not(inner) => {
            f.write_str("not ")?;
            match inner.as_ref() {
                // `not not x` and `not true` need no parentheses.
                Expr::Not(_) | Expr::Const(_) => write_expr(f, inner),
                _ => {
                    f.write_str("(")?;
                    write_expr(f, inner)?;
                    f.write_str(")")
                }
            }
        }
        Expr::Const(b) => f.write_str(if *b { "true" } else { "false" }),
    }
}

/// Prints an n-ary `and`/`or`. A child needs parentheses when reading it
/// back without them would merge it into this node or split this node:
/// an `and` inside an `and`, any `or` inside an `and`, an `or` inside an
/// `or`. Degenerate chains (fewer than two items) print as their meaning.
fn write_chain(
    f: &mut fmt::Formatter<'_>,
    items: &[Expr],
    word: &str,
    is_and: bool,
) -> fmt::Result {
    match items {
        [] => f.write_str(if is_and { "true" } else { "false" }),
        [only] => write_expr(f, only),
        _ => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    write!(f, " {word} ")?;
                }
                let needs_parens = match effective(item) {
                    Expr::And(v) => v.len() >= 2 && is_and,
                    Expr::Or(v) => v.len() >= 2,
                    _ => false,
                };
                if needs_parens {
                    f.write_str("(")?;
                    write_expr(f, item)?;
                    f.write_str(")")?;
                } else {
                    write_expr(f, item)?;
                }
            }
            Ok(())
        }
    }
}

/// The node a chain of one item prints as.
fn effective(expr: &Expr) -> &Expr {
    match expr {
        Expr::And(items) | Expr::Or(items) => match items.as_slice() {
            [only] => effective(only),
            _ => expr,
        },
        _ => expr,
    }
}

fn write_operand(f: &mut fmt::Formatter<'_>, operand: &Operand) -> fmt::Result {
    match operand {
        Operand::Property(name) => f.write_str(name),
        Operand::Param(name) => write!(f, "@{name}"),
        Operand::Literal(value) => write_literal(f, value),
    }
}

/// Prints a literal in the form the parser reads back to the same value.
pub(crate) fn write_literal(f: &mut impl fmt::Write, value: &Value) -> fmt::Result {
    match value {
        Value::String(s) => write_quoted(f, "", s),
        Value::Int32(v) => write!(f, "{v}"),
        Value::Int64(v) => write!(f, "{v}L"),
        // `{:?}` is the shortest text that reads back to the same bits and
        // always has a `.` or an exponent, so it reads back as a Double.
        Value::Double(v) => write!(f, "{v:?}"),
        Value::Bool(v) => write!(f, "{v}"),
        Value::DateTime(v) => write_quoted(
            f,
            "datetime",
            &v.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        ),
        Value::Guid(v) => write_quoted(f, "guid", &v.hyphenated().to_string()),
        Value::Binary(bytes) => {
            f.write_str("X'")?;
            for b in bytes {
                write!(f, "{b:02x}")?;
            }
            f.write_str("'")
        }
    }
}

fn write_quoted(f: &mut impl fmt::Write, prefix: &str, text: &str) -> fmt::Result {
    f.write_str(prefix)?;
    f.write_char('\'')?;
    for part in text.split_inclusive('\'') {
        f.write_str(part)?;
        if part.ends_with('\'') {
            f.write_char('\'')?;
        }
    }
    f.write_char('\'')
}

/// Whether `name` can be printed as a property name and read back as one:
/// an identifier that is not a reserved word. Used by tests and generators.
pub fn is_valid_property_name(name: &str) -> bool {
    parse::is_identifier(name) && !parse::is_reserved(name)
}
