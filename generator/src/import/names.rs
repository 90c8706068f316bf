//! Default operation names and groups, derived from paths and action names. Overlays override
//! both; these only have to be deterministic and readable.

use heck::ToSnakeCase;

use crate::spec::Method;

/// A path segment.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// A literal, cleaned (`os-keypairs` -> `keypairs`).
    Literal(String),
    /// A `{parameter}`.
    Param,
}

/// Segments that carry meaning: API version prefixes (`v3`) and upper-case namespaces
/// (`OS-FEDERATION`) are dropped, an `os-` prefix is stripped, the rest is snake_case.
fn segments(path: &str) -> Vec<Segment> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .filter_map(|s| {
            if s.starts_with('{') {
                return Some(Segment::Param);
            }
            let is_version = s.len() > 1
                && s.starts_with('v')
                && s[1..].bytes().all(|b| b.is_ascii_digit() || b == b'.');
            if is_version || s.starts_with("OS-") {
                return None;
            }
            Some(Segment::Literal(
                s.trim_start_matches("os-").to_snake_case(),
            ))
        })
        .collect()
}

fn literals(segs: &[Segment]) -> Vec<&str> {
    segs.iter()
        .filter_map(|s| match s {
            Segment::Literal(l) => Some(l.as_str()),
            Segment::Param => None,
        })
        .collect()
}

/// `servers` -> `server`, `policies` -> `policy`; words that are not plurals stay.
pub fn singular(word: &str) -> String {
    if let Some(stem) = word.strip_suffix("ies") {
        return format!("{stem}y");
    }
    if word.ends_with("sses") || word.ends_with("xes") {
        return word[..word.len() - 2].to_owned();
    }
    if word.ends_with('s')
        && !word.ends_with("ss")
        && !word.ends_with("us")
        && !word.ends_with("is")
    {
        return word[..word.len() - 1].to_owned();
    }
    word.to_owned()
}

/// The default group of a path: its first resource, or `<resource>_<sub-resource>` for a
/// sub-resource under a parameter (`/flavors/{id}/os-extra_specs` -> `flavor_extra_specs`,
/// `/servers/{id}/action` -> `server_actions`).
pub fn default_group(path: &str) -> String {
    let segs = segments(path);
    let Some(Segment::Literal(first)) = segs.first() else {
        return "root".to_owned();
    };
    if let (Some(Segment::Param), Some(Segment::Literal(sub))) = (segs.get(1), segs.get(2)) {
        let one = singular(first);
        if sub == "action" {
            return format!("{one}_actions");
        }
        if sub.starts_with(&one) {
            return sub.clone();
        }
        return format!("{one}_{sub}");
    }
    first.clone()
}

/// The default operation name.
pub fn default_name(method: Method, path: &str, action: Option<&str>) -> String {
    let segs = segments(path);
    let lits = literals(&segs);
    if let Some(action) = action {
        let verb = action.trim_start_matches("os-").to_snake_case();
        if verb.contains('_') {
            return verb;
        }
        let target = lits
            .iter()
            .rev()
            .find(|l| **l != "action")
            .map_or_else(String::new, |l| singular(l));
        return join(&verb, &target);
    }
    let ends_with_param = matches!(segs.last(), Some(Segment::Param));
    let noun = lits.last().copied().unwrap_or("root");
    let thing = if ends_with_param {
        singular(noun)
    } else {
        noun.to_owned()
    };
    match method {
        Method::Get if ends_with_param => join("show", &thing),
        Method::Get if noun == "detail" => {
            let of = lits.iter().rev().nth(1).copied().unwrap_or("");
            format!("{}_detail", join("list", of))
        }
        Method::Get => join("list", &thing),
        Method::Post if ends_with_param => join("post", &thing),
        Method::Post => join("create", &singular(noun)),
        Method::Put | Method::Patch => join("update", &thing),
        Method::Delete => join("delete", &thing),
        Method::Head => join("check", &thing),
    }
}

fn join(verb: &str, noun: &str) -> String {
    if noun.is_empty() {
        verb.to_owned()
    } else {
        format!("{verb}_{noun}")
    }
}

/// The resource a path's last resource hangs under (`/servers/{id}/metadata` -> `server`).
pub fn parent(path: &str) -> Option<String> {
    let segs = segments(path);
    let lits = literals(&segs);
    let last = lits
        .iter()
        .rposition(|l| *l != "action" && *l != "detail")?;
    last.checked_sub(1).map(|i| singular(lits[i]))
}

/// The first resource of a path (`/os-volumes_boot/{id}` -> `volumes_boot`).
pub fn first(path: &str) -> Option<String> {
    literals(&segments(path)).first().map(|s| (*s).to_owned())
}

/// Whether a name is snake_case, as the spec format wants.
pub fn is_snake_case(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            default_name(Method::Get, "/os-keypairs", None),
            "list_keypairs"
        );
        assert_eq!(
            default_name(Method::Get, "/os-keypairs/{keypair_name}", None),
            "show_keypair"
        );
        assert_eq!(
            default_name(Method::Post, "/os-keypairs", None),
            "create_keypair"
        );
        assert_eq!(
            default_name(Method::Get, "/servers/detail", None),
            "list_servers_detail"
        );
        assert_eq!(
            default_name(Method::Post, "/servers/{id}/action", Some("reboot")),
            "reboot_server"
        );
        assert_eq!(
            default_name(Method::Post, "/servers/{id}/action", Some("os-resetState")),
            "reset_state"
        );
        assert_eq!(
            default_name(Method::Get, "/v3/OS-TRUST/trusts/{trust_id}", None),
            "show_trust"
        );
        assert_eq!(
            default_name(Method::Get, "/v3/policies", None),
            "list_policies"
        );
    }

    #[test]
    fn groups() {
        assert_eq!(default_group("/os-keypairs/{id}"), "keypairs");
        assert_eq!(
            default_group("/flavors/{id}/os-extra_specs"),
            "flavor_extra_specs"
        );
        assert_eq!(
            default_group("/flavors/{id}/os-flavor-access"),
            "flavor_access"
        );
        assert_eq!(default_group("/servers/{id}/action"), "server_actions");
        assert_eq!(default_group("/servers/detail"), "servers");
        assert_eq!(default_group("/"), "root");
        assert_eq!(default_group("/v3/OS-TRUST/trusts"), "trusts");
        assert_eq!(parent("/servers/{id}/metadata").as_deref(), Some("server"));
    }
}
