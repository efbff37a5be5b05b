//! `#[http_trigger]`: an async function of a request and a durable client, served on a route.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprArray, ExprLit, ItemFn, Lit, LitStr, Meta, Token, Visibility};

struct Args {
    name: Option<LitStr>,
    route: Option<LitStr>,
    methods: Vec<LitStr>,
    auth: TokenStream,
}

/// A string literal argument, or an error naming the argument.
pub(crate) fn string(expr: &Expr, what: &str) -> syn::Result<LitStr> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s.clone()),
        other => Err(syn::Error::new(
            other.span(),
            format!("`{what}` takes a string literal"),
        )),
    }
}

fn parse_args(args: proc_macro::TokenStream) -> syn::Result<Args> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse(args)?;
    let mut out = Args {
        name: None,
        route: None,
        methods: Vec::new(),
        auth: quote! { ::durafn::host::AuthLevel::Function },
    };
    for meta in metas {
        let Meta::NameValue(nv) = meta else {
            return Err(syn::Error::new(
                meta.span(),
                "expected `key = value`: name, route, methods or auth",
            ));
        };
        let key = nv
            .path
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_default();
        match key.as_str() {
            "name" => out.name = Some(string(&nv.value, "name")?),
            "route" => out.route = Some(string(&nv.value, "route")?),
            "methods" => match &nv.value {
                Expr::Array(ExprArray { elems, .. }) => {
                    for e in elems {
                        out.methods.push(string(e, "methods")?);
                    }
                }
                other => out.methods.push(string(other, "methods")?),
            },
            "auth" => {
                let level = string(&nv.value, "auth")?;
                out.auth = match level.value().to_lowercase().as_str() {
                    "anonymous" => quote! { ::durafn::host::AuthLevel::Anonymous },
                    "function" => quote! { ::durafn::host::AuthLevel::Function },
                    "admin" => quote! { ::durafn::host::AuthLevel::Admin },
                    _ => {
                        return Err(syn::Error::new(
                            level.span(),
                            "`auth` is one of \"anonymous\", \"function\" or \"admin\"",
                        ));
                    }
                };
            }
            _ => {
                return Err(syn::Error::new(
                    nv.path.span(),
                    "unknown argument; the arguments are name, route, methods and auth",
                ));
            }
        }
    }
    Ok(out)
}

pub(crate) fn expand(args: proc_macro::TokenStream, func: ItemFn) -> syn::Result<TokenStream> {
    let args = parse_args(args)?;
    let sig = &func.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span(),
            "#[http_trigger] functions must be `async fn`",
        ));
    }
    if sig.inputs.len() != 2 {
        return Err(syn::Error::new(
            sig.inputs.span(),
            "#[http_trigger] functions take two parameters: `(req: HttpRequest, client: DurableHttpClient)`",
        ));
    }
    let ident = &sig.ident;
    let vis = &func.vis;
    let name = args.name.unwrap_or_else(|| {
        LitStr::new(
            &ident.to_string().replace('_', "-"),
            proc_macro2::Span::call_site(),
        )
    });
    let route = match &args.route {
        Some(r) => quote! { ::core::option::Option::Some(::std::string::String::from(#r)) },
        None => quote! { ::core::option::Option::None },
    };
    let methods = &args.methods;
    let auth = &args.auth;
    let inner = format_ident!("__durafn_{}", ident);
    // The function's docs document the struct that replaces it.
    let docs: Vec<_> = func
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .collect();
    let mut inner_fn = func.clone();
    inner_fn.sig.ident = inner.clone();
    inner_fn.vis = Visibility::Inherited;
    Ok(quote! {
        #(#docs)*
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, Default)]
        #vis struct #ident;

        impl ::durafn::host::HttpHandler for #ident {
            fn name(&self) -> &str {
                #name
            }

            fn trigger(&self) -> ::durafn::host::HttpTrigger {
                ::durafn::host::HttpTrigger {
                    route: #route,
                    methods: ::std::vec![#(::std::string::String::from(#methods)),*],
                    auth_level: #auth,
                }
            }

            fn call(
                &self,
                req: ::durafn::host::HttpRequest,
                client: ::durafn::host::DurableHttpClient,
            ) -> ::durafn::host::HandlerFuture {
                #inner_fn
                ::std::boxed::Box::pin(async move {
                    ::durafn::host::IntoHandlerResult::into_handler_result(#inner(req, client).await)
                })
            }
        }
    })
}
