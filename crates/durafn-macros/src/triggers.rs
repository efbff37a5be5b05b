//! `#[queue_trigger]` and `#[timer_trigger]`: an async function of a message (or a timer's
//! info) and a durable client, run by the host for each message (each occurrence).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ItemFn, Lit, LitBool, LitStr, Meta, Token, Visibility};

use crate::http_trigger::string;

/// Which trigger.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trigger {
    Queue,
    Timer,
}

impl Trigger {
    fn attribute(self) -> &'static str {
        match self {
            Trigger::Queue => "#[queue_trigger]",
            Trigger::Timer => "#[timer_trigger]",
        }
    }

    fn keys(self) -> &'static str {
        match self {
            Trigger::Queue => "name, queue and connection",
            Trigger::Timer => "name, schedule, run_on_startup and use_monitor",
        }
    }
}

#[derive(Default)]
struct Args {
    name: Option<LitStr>,
    queue: Option<LitStr>,
    connection: Option<LitStr>,
    schedule: Option<LitStr>,
    run_on_startup: Option<LitBool>,
    use_monitor: Option<LitBool>,
}

fn boolean(expr: &Expr, what: &str) -> syn::Result<LitBool> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => Ok(b.clone()),
        other => Err(syn::Error::new(
            other.span(),
            format!("`{what}` takes `true` or `false`"),
        )),
    }
}

fn parse_args(trigger: Trigger, args: proc_macro::TokenStream) -> syn::Result<Args> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse(args)?;
    let mut out = Args::default();
    for meta in metas {
        let Meta::NameValue(nv) = meta else {
            return Err(syn::Error::new(
                meta.span(),
                format!("expected `key = value`: {}", trigger.keys()),
            ));
        };
        let key = nv
            .path
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_default();
        match (trigger, key.as_str()) {
            (_, "name") => out.name = Some(string(&nv.value, "name")?),
            (Trigger::Queue, "queue") => out.queue = Some(string(&nv.value, "queue")?),
            (Trigger::Queue, "connection") => {
                out.connection = Some(string(&nv.value, "connection")?);
            }
            (Trigger::Timer, "schedule") => out.schedule = Some(string(&nv.value, "schedule")?),
            (Trigger::Timer, "run_on_startup") => {
                out.run_on_startup = Some(boolean(&nv.value, "run_on_startup")?);
            }
            (Trigger::Timer, "use_monitor") => {
                out.use_monitor = Some(boolean(&nv.value, "use_monitor")?);
            }
            _ => {
                return Err(syn::Error::new(
                    nv.path.span(),
                    format!("unknown argument; the arguments are {}", trigger.keys()),
                ));
            }
        }
    }
    Ok(out)
}

pub(crate) fn expand(
    trigger: Trigger,
    args: proc_macro::TokenStream,
    func: ItemFn,
) -> syn::Result<TokenStream> {
    let args = parse_args(trigger, args)?;
    let attribute = trigger.attribute();
    let sig = &func.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span(),
            format!("{attribute} functions must be `async fn`"),
        ));
    }
    let params = match trigger {
        Trigger::Queue => "`(item: QueueItem, client: DurableHttpClient)`",
        Trigger::Timer => "`(timer: TimerInfo, client: DurableHttpClient)`",
    };
    if sig.inputs.len() != 2 {
        return Err(syn::Error::new(
            sig.inputs.span(),
            format!("{attribute} functions take two parameters: {params}"),
        ));
    }
    let ident = &sig.ident;
    let vis = &func.vis;
    let name = args.name.clone().unwrap_or_else(|| {
        LitStr::new(
            &ident.to_string().replace('_', "-"),
            proc_macro2::Span::call_site(),
        )
    });
    let inner = format_ident!("__durafn_{}", ident);
    let docs: Vec<_> = func
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .collect();
    let mut inner_fn = func.clone();
    inner_fn.sig.ident = inner.clone();
    inner_fn.vis = Visibility::Inherited;
    let implementation = match trigger {
        Trigger::Queue => {
            let Some(queue) = &args.queue else {
                return Err(syn::Error::new(
                    proc_macro2::Span::call_site(),
                    "#[queue_trigger] needs `queue = \"…\"`",
                ));
            };
            let connection = args
                .connection
                .clone()
                .unwrap_or_else(|| LitStr::new("", proc_macro2::Span::call_site()));
            quote! {
                impl ::durafn::host::QueueHandler for #ident {
                    fn name(&self) -> &str {
                        #name
                    }

                    fn trigger(&self) -> ::durafn::host::QueueTrigger {
                        ::durafn::host::QueueTrigger {
                            queue: ::std::string::String::from(#queue),
                            connection: ::std::string::String::from(#connection),
                        }
                    }

                    fn call(
                        &self,
                        item: ::durafn::host::QueueItem,
                        client: ::durafn::host::DurableHttpClient,
                    ) -> ::durafn::host::QueueHandlerFuture {
                        #inner_fn
                        ::std::boxed::Box::pin(async move {
                            ::durafn::host::IntoTriggerResult::into_trigger_result(#inner(item, client).await)
                        })
                    }
                }
            }
        }
        Trigger::Timer => {
            let Some(schedule) = &args.schedule else {
                return Err(syn::Error::new(
                    proc_macro2::Span::call_site(),
                    "#[timer_trigger] needs `schedule = \"…\"`",
                ));
            };
            let run_on_startup = args.run_on_startup.as_ref().is_some_and(LitBool::value);
            let use_monitor = args.use_monitor.as_ref().is_none_or(LitBool::value);
            quote! {
                impl ::durafn::host::TimerHandler for #ident {
                    fn name(&self) -> &str {
                        #name
                    }

                    fn trigger(&self) -> ::durafn::host::TimerTrigger {
                        ::durafn::host::TimerTrigger {
                            schedule: ::std::string::String::from(#schedule),
                            run_on_startup: #run_on_startup,
                            use_monitor: #use_monitor,
                        }
                    }

                    fn call(
                        &self,
                        timer: ::durafn::host::TimerInfo,
                        client: ::durafn::host::DurableHttpClient,
                    ) -> ::durafn::host::TimerHandlerFuture {
                        #inner_fn
                        ::std::boxed::Box::pin(async move {
                            ::durafn::host::IntoTriggerResult::into_trigger_result(#inner(timer, client).await)
                        })
                    }
                }
            }
        }
    };
    Ok(quote! {
        #(#docs)*
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, Default)]
        #vis struct #ident;

        #implementation
    })
}
