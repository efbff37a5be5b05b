//! Who is signed in: the caller's role and the CSRF token of its forms, as every page sees it.

use crate::app::Role;

/// A signed-in caller.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) role: Role,
    /// The token every form of this caller carries.
    pub(crate) csrf: String,
    /// The task hub, for the header.
    pub(crate) hub: String,
}

impl Session {
    /// Whether write controls are shown.
    pub(crate) fn can_write(&self) -> bool {
        self.role == Role::Operator
    }
}
