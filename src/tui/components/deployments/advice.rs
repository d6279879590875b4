//! ARM errors with what to do about them (the browser shows these in place of its panes).

/// An ARM error with what to do about it.
pub(super) fn with_advice(e: &crate::domain::arm::ArmError) -> String {
    use crate::domain::arm::ArmError;
    let m = e.to_string();
    match e {
        // Already says what to do (sign in, or the profile to write).
        ArmError::Auth(_) => m,
        ArmError::Http {
            status: 401 | 403, ..
        } => format!(
            "{m}. The signed-in identity needs Reader on the subscription; the profile names it with `subscriptions` and `auth` (docs/azure.md, `aoai config check`)"
        ),
        ArmError::Http { status: 404, .. } => {
            format!("{m}. Check the profile's `subscriptions` (docs/azure.md, `aoai config check`)")
        }
        ArmError::Http { .. }
        | ArmError::Throttled { .. }
        | ArmError::Transport(_)
        | ArmError::Decode(_)
        | ArmError::TooManyPages(_) => m,
    }
}
