//! Attribute macros that turn plain `async fn`s into registered durafn functions.
//!
//! `#[orchestrator]` and `#[activity]` replace the function with a unit struct of the same name
//! that implements `durafn::Orchestrator` or `durafn::Activity`, so it can be handed to the
//! registry builder: `Registry::builder().orchestrator(hello_cities)`. The function body is kept
//! unchanged inside the generated `start`/`run` method. A `name = "…"` argument registers the
//! function under a name that is not a Rust identifier, such as `"orchestrator-function"`.
//! `#[entity]` on an `impl` block makes its public methods the operations of a class-style entity;
//! on a function of `&mut EntityContext` it registers a function-style entity.

mod entity;
mod http_trigger;
mod triggers;

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::{format_ident, quote};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, FnArg, ItemFn, Lit, LitStr, Meta, Token};

/// Registers an `async fn(ctx: OrchestrationContext, input: I) -> Result<O, E>` as an orchestrator.
///
/// ```ignore
/// #[durafn::orchestrator(name = "orchestrator-function")]
/// async fn orchestrator_function(ctx: OrchestrationContext, input: Query) -> Result<u64, FunctionError> {
///     Ok(ctx.call_activity("query-storage-account-activity-function", &input).await?)
/// }
/// ```
#[proc_macro_attribute]
pub fn orchestrator(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Orchestrator, args, item).unwrap_or_else(|e| e.to_compile_error().into())
}

/// Registers an `async fn([ctx: ActivityContext,] input: I) -> Result<O, E>` as an activity.
///
/// ```ignore
/// #[durafn::activity]
/// async fn say_hello(city: String) -> Result<String, FunctionError> {
///     Ok(format!("Hello {city}!"))
/// }
/// ```
#[proc_macro_attribute]
pub fn activity(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Activity, args, item).unwrap_or_else(|e| e.to_compile_error().into())
}

/// Makes an entity: on an `impl` block, each public method is an operation (at most one input,
/// optionally `ctx: &mut EntityContext`; the struct's fields are the state, so it must be
/// `Default + Serialize + Deserialize`), registered with `Type::entity()`; on a function of
/// `&mut EntityContext`, a function-style entity registered like an activity.
///
/// ```ignore
/// #[derive(Default, serde::Serialize, serde::Deserialize)]
/// struct Counter { value: i64 }
///
/// #[durafn::entity]
/// impl Counter {
///     pub fn add(&mut self, amount: i64) { self.value += amount; }
///     pub fn get(&self) -> i64 { self.value }
/// }
/// ```
#[proc_macro_attribute]
pub fn entity(args: TokenStream, item: TokenStream) -> TokenStream {
    let result = (|| {
        let name = parse_optional_name(args)?;
        let item2: proc_macro2::TokenStream = item.into();
        if let Ok(imp) = syn::parse2::<syn::ItemImpl>(item2.clone()) {
            return entity::expand_impl(imp, name);
        }
        let func: syn::ItemFn = syn::parse2(item2).map_err(|e| {
            syn::Error::new(
                e.span(),
                "#[entity] goes on an `impl` block or on a function",
            )
        })?;
        entity::expand_fn(func, name)
    })();
    result.unwrap_or_else(|e| e.to_compile_error()).into()
}

/// Runs an `async fn(item: QueueItem, client: DurableHttpClient) -> Result<(), E>` for each
/// message of an Azure Storage queue: `#[queue_trigger(queue = "jobs", connection =
/// "JobsStorage", name = "submit-from-queue")]`. The connection defaults to
/// `AzureWebJobsStorage`, the name to the function's with `-` for `_`; `queue` may be
/// `%Setting%`. Register it with `App::new().queue_function(submit_from_queue)`.
#[proc_macro_attribute]
pub fn queue_trigger(args: TokenStream, item: TokenStream) -> TokenStream {
    let func = syn::parse_macro_input!(item as ItemFn);
    triggers::expand(triggers::Trigger::Queue, args, func)
        .unwrap_or_else(|e| e.to_compile_error())
        .into()
}

/// Runs an `async fn(timer: TimerInfo, client: DurableHttpClient) -> Result<(), E>` on a
/// schedule: `#[timer_trigger(schedule = "0 */5 * * * *", run_on_startup = false, use_monitor
/// = true)]`, NCRONTAB with seconds first or a `TimeSpan` (`"00:05:00"`), `%Setting%` allowed.
/// Register it with `App::new().timer_function(nightly_report)`.
#[proc_macro_attribute]
pub fn timer_trigger(args: TokenStream, item: TokenStream) -> TokenStream {
    let func = syn::parse_macro_input!(item as ItemFn);
    triggers::expand(triggers::Trigger::Timer, args, func)
        .unwrap_or_else(|e| e.to_compile_error())
        .into()
}

/// Serves an `async fn(req: HttpRequest, client: DurableHttpClient) -> HttpResponse` (or a
/// `Result` of one) on a route: `#[http_trigger(route = "status/{id}", methods = ["GET"],
/// auth = "anonymous", name = "get-status-function")]`. The name defaults to the function's name
/// with `-` for `_`, the route to the name, the methods to all, the auth level to `function`.
/// Register it with `App::new().function(get_status_function)`.
#[proc_macro_attribute]
pub fn http_trigger(args: TokenStream, item: TokenStream) -> TokenStream {
    match syn::parse::<syn::ItemFn>(item) {
        Ok(func) => http_trigger::expand(args, func)
            .unwrap_or_else(|e| e.to_compile_error())
            .into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn parse_optional_name(args: TokenStream) -> syn::Result<Option<LitStr>> {
    if args.is_empty() {
        return Ok(None);
    }
    parse_name(args, String::new()).map(Some)
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Orchestrator,
    Activity,
}

impl Kind {
    fn attr(self) -> &'static str {
        match self {
            Kind::Orchestrator => "#[orchestrator]",
            Kind::Activity => "#[activity]",
        }
    }
}

fn parse_name(args: TokenStream, default: String) -> syn::Result<LitStr> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse(args)?;
    let mut name = None;
    for meta in metas {
        match meta {
            Meta::NameValue(nv) if nv.path.is_ident("name") => match nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => {
                    if s.value().is_empty() {
                        return Err(syn::Error::new(
                            s.span(),
                            "the function name must not be empty",
                        ));
                    }
                    name = Some(s);
                }
                other => {
                    return Err(syn::Error::new(
                        other.span(),
                        "`name` takes a string literal, as in `name = \"orchestrator-function\"`",
                    ));
                }
            },
            other => {
                return Err(syn::Error::new(
                    other.span(),
                    "unknown argument; the only argument is `name = \"...\"`",
                ));
            }
        }
    }
    Ok(name.unwrap_or_else(|| LitStr::new(&default, Span::call_site())))
}

fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let func: ItemFn = syn::parse(item)?;
    let sig = &func.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span(),
            format!("{} functions must be `async fn`", kind.attr()),
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new(
            sig.generics.span(),
            format!(
                "{} functions cannot be generic: each is registered under one name with one input type",
                kind.attr()
            ),
        ));
    }
    if let Some(FnArg::Receiver(r)) = sig.inputs.first() {
        return Err(syn::Error::new(
            r.span(),
            format!(
                "{} functions must be free functions, not methods",
                kind.attr()
            ),
        ));
    }
    if matches!(sig.output, syn::ReturnType::Default) {
        return Err(syn::Error::new(
            sig.span(),
            format!(
                "{} functions must return `Result<Output, Error>`",
                kind.attr()
            ),
        ));
    }
    let arity = sig.inputs.len();
    let allowed: &[usize] = match kind {
        Kind::Orchestrator => &[2],
        Kind::Activity => &[1, 2],
    };
    if !allowed.contains(&arity) {
        let expected = match kind {
            Kind::Orchestrator => "two parameters: `(ctx: OrchestrationContext, input: T)`",
            Kind::Activity => {
                "one parameter `(input: T)` or two: `(ctx: ActivityContext, input: T)`"
            }
        };
        return Err(syn::Error::new(
            sig.inputs.span(),
            format!("{} functions take {expected}", kind.attr()),
        ));
    }

    let ident = &sig.ident;
    let vis = &func.vis;
    let name = parse_name(args, ident.to_string())?;
    let inner = format_ident!("__durafn_{}", ident);
    let mut inner_fn = func.clone();
    inner_fn.sig.ident = inner.clone();
    inner_fn.vis = syn::Visibility::Inherited;
    let attrs: Vec<_> = func
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .collect();

    let body = match kind {
        Kind::Orchestrator => quote! {
            impl ::durafn::Orchestrator for #ident {
                fn name(&self) -> &str {
                    #name
                }

                fn start(
                    &self,
                    ctx: ::durafn::OrchestrationContext,
                    input: ::durafn::Payload,
                ) -> ::durafn::FunctionFuture {
                    #inner_fn
                    ::durafn::__private::start_typed("orchestrator", #name, input, move |input| #inner(ctx, input))
                }
            }
        },
        Kind::Activity => {
            let call = if arity == 2 {
                quote! { #inner(ctx, input) }
            } else {
                quote! { { let _ = ctx; #inner(input) } }
            };
            quote! {
                impl ::durafn::Activity for #ident {
                    fn name(&self) -> &str {
                        #name
                    }

                    fn run(
                        &self,
                        ctx: ::durafn::ActivityContext,
                        input: ::durafn::Payload,
                    ) -> ::durafn::FunctionFuture {
                        #inner_fn
                        ::durafn::__private::start_typed("activity", #name, input, move |input| #call)
                    }
                }
            }
        }
    };
    Ok(quote! {
        #(#attrs)*
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, Default)]
        #vis struct #ident;

        #body
    }
    .into())
}
