//! `#[entity]`: class-style entities from an `impl` block, or function-style from a function.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{FnArg, ImplItem, ItemFn, ItemImpl, LitStr, ReturnType, Type, Visibility};

/// Whether a type is spelled `…Result<…>` (the operation may fail).
fn returns_result(output: &ReturnType) -> bool {
    match output {
        ReturnType::Type(_, ty) => match ty.as_ref() {
            Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "Result"),
            _ => false,
        },
        ReturnType::Default => false,
    }
}

/// Whether a parameter is the entity context (`&mut EntityContext`).
fn is_context(arg: &FnArg) -> bool {
    match arg {
        FnArg::Typed(t) => match t.ty.as_ref() {
            Type::Reference(r) => match r.elem.as_ref() {
                Type::Path(p) => p
                    .path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "EntityContext"),
                _ => false,
            },
            _ => false,
        },
        FnArg::Receiver(_) => false,
    }
}

pub(crate) fn expand_impl(item: ItemImpl, name: Option<LitStr>) -> syn::Result<TokenStream> {
    if let Some((_, path, _)) = &item.trait_ {
        return Err(syn::Error::new(
            path.span(),
            "#[entity] goes on an inherent `impl` block, not a trait impl",
        ));
    }
    if !item.generics.params.is_empty() {
        return Err(syn::Error::new(
            item.generics.span(),
            "#[entity] types cannot be generic",
        ));
    }
    let self_ty = &item.self_ty;
    let type_name = match self_ty.as_ref() {
        Type::Path(p) => p
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default(),
        other => {
            return Err(syn::Error::new(
                other.span(),
                "#[entity] needs a named type",
            ));
        }
    };
    let name = name
        .unwrap_or_else(|| LitStr::new(&type_name.to_lowercase(), proc_macro2::Span::call_site()));
    let mut arms = Vec::new();
    for impl_item in &item.items {
        let ImplItem::Fn(method) = impl_item else {
            continue;
        };
        if !matches!(method.vis, Visibility::Public(_)) || method.sig.receiver().is_none() {
            continue;
        }
        if method.sig.asyncness.is_some() {
            return Err(syn::Error::new(
                method.sig.asyncness.span(),
                "entity operations are synchronous: they change state; do I/O in activities",
            ));
        }
        let ident = &method.sig.ident;
        let op = ident.to_string().to_lowercase();
        let params: Vec<&FnArg> = method.sig.inputs.iter().skip(1).collect();
        let (with_ctx, inputs): (Vec<&FnArg>, Vec<&FnArg>) =
            params.into_iter().partition(|a| is_context(a));
        if inputs.len() > 1 {
            return Err(syn::Error::new(
                method.sig.inputs.span(),
                "entity operations take at most one input (besides `ctx: &mut EntityContext`)",
            ));
        }
        let ctx_arg = if with_ctx.is_empty() {
            quote! {}
        } else {
            quote! { ctx, }
        };
        let call = if inputs.is_empty() {
            quote! { self.#ident(#ctx_arg) }
        } else {
            quote! { { let input = ctx.input()?; self.#ident(#ctx_arg input) } }
        };
        let body = if returns_result(&method.sig.output) {
            quote! {
                match #call {
                    ::core::result::Result::Ok(value) => ::durafn::__private::encode_operation_output(value),
                    ::core::result::Result::Err(e) => ::core::result::Result::Err(::durafn::__private::into_function_error(e)),
                }
            }
        } else {
            quote! { ::durafn::__private::encode_operation_output(#call) }
        };
        arms.push(quote! { #op => #body, });
    }
    Ok(quote! {
        #item

        impl ::durafn::EntityState for #self_ty {
            fn dispatch(
                &mut self,
                ctx: &mut ::durafn::EntityContext,
            ) -> ::core::result::Result<::durafn::Payload, ::durafn::FunctionError> {
                let operation = ctx.operation().to_lowercase();
                match operation.as_str() {
                    #(#arms)*
                    _ => ::core::result::Result::Err(::durafn::core::entity::unknown_operation(ctx)),
                }
            }
        }

        impl #self_ty {
            /// This entity, ready to register with `Registry::builder().entity(..)`.
            pub fn entity() -> ::durafn::EntityClass<Self> {
                ::durafn::entity_class::<Self>(#name)
            }
        }
    })
}

pub(crate) fn expand_fn(func: ItemFn, name: Option<LitStr>) -> syn::Result<TokenStream> {
    let sig = &func.sig;
    if sig.asyncness.is_some() {
        return Err(syn::Error::new(
            sig.asyncness.span(),
            "entity operations are synchronous: they change state; do I/O in activities",
        ));
    }
    if sig.inputs.len() != 1 || !sig.inputs.first().is_some_and(is_context) {
        return Err(syn::Error::new(
            sig.inputs.span(),
            "#[entity] functions take one parameter: `ctx: &mut EntityContext`",
        ));
    }
    if !returns_result(&sig.output) {
        return Err(syn::Error::new(
            sig.span(),
            "#[entity] functions must return `Result<Output, Error>`",
        ));
    }
    let ident = &sig.ident;
    let vis = &func.vis;
    let name = name.unwrap_or_else(|| {
        LitStr::new(
            &ident.to_string().to_lowercase(),
            proc_macro2::Span::call_site(),
        )
    });
    let inner = format_ident!("__durafn_{}", ident);
    let mut inner_fn = func.clone();
    inner_fn.sig.ident = inner.clone();
    inner_fn.vis = Visibility::Inherited;
    Ok(quote! {
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, Default)]
        #vis struct #ident;

        impl ::durafn::Entity for #ident {
            fn name(&self) -> &str {
                #name
            }

            fn run(
                &self,
                ctx: &mut ::durafn::EntityContext,
            ) -> ::core::result::Result<::durafn::Payload, ::durafn::FunctionError> {
                #inner_fn
                match #inner(ctx) {
                    ::core::result::Result::Ok(value) => ::durafn::__private::encode_operation_output(value),
                    ::core::result::Result::Err(e) => ::core::result::Result::Err(::durafn::__private::into_function_error(e)),
                }
            }
        }
    })
}
