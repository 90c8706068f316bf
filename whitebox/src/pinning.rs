//! The dedicated-CPU pinning check: every `<vcpupin>` of every server lies inside the host's
//! dedicated CPU set, and no two servers share a pinned CPU.
//!
//! This is the check the whitebox plugin's motivating example needs: a live migration can
//! succeed through the API while leaving an instance without its dedicated CPUs, and only the
//! domain XML shows it.

use std::fmt;

use crate::cpuset::CpuSet;
use crate::libvirt::Domain;

/// One way the pinning is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinningViolation {
    /// The domain has no `<vcpupin>` at all (its vCPUs float).
    NotPinned {
        /// The domain.
        domain: String,
    },
    /// Some vCPUs are not pinned while others are.
    VcpuNotPinned {
        /// The domain.
        domain: String,
        /// The vCPU without a pin.
        vcpu: u32,
    },
    /// A vCPU is pinned (partly) outside the dedicated set.
    OutsideDedicated {
        /// The domain.
        domain: String,
        /// The vCPU.
        vcpu: u32,
        /// The host CPUs outside the set.
        cpus: CpuSet,
    },
    /// Two domains are pinned to the same host CPUs.
    Shared {
        /// The first domain.
        first: String,
        /// The second domain.
        second: String,
        /// The host CPUs both use.
        cpus: CpuSet,
    },
}

impl fmt::Display for PinningViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotPinned { domain } => write!(f, "{domain}: no vcpupin, vCPUs float"),
            Self::VcpuNotPinned { domain, vcpu } => {
                write!(f, "{domain}: vCPU {vcpu} is not pinned")
            }
            Self::OutsideDedicated { domain, vcpu, cpus } => write!(
                f,
                "{domain}: vCPU {vcpu} is pinned to host CPUs {cpus} outside the dedicated set"
            ),
            Self::Shared {
                first,
                second,
                cpus,
            } => {
                write!(
                    f,
                    "{first} and {second} are both pinned to host CPUs {cpus}"
                )
            }
        }
    }
}

/// The pinning of a set of servers on one host is wrong; every violation is listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CPU pinning check against dedicated set {dedicated} failed: {}", violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct PinningError {
    /// The host's dedicated set.
    pub dedicated: CpuSet,
    /// What is wrong.
    pub violations: Vec<PinningViolation>,
}

/// Checks `domains` (all on one host) against the host's dedicated CPU set. On success returns
/// the host CPUs the domains use together.
pub fn check_pinning(domains: &[&Domain], dedicated: &CpuSet) -> Result<CpuSet, PinningError> {
    let mut violations = Vec::new();
    let mut used: Vec<(&str, CpuSet)> = Vec::new();
    for domain in domains {
        let pins = domain
            .cputune
            .as_ref()
            .map(|t| t.vcpupins.as_slice())
            .unwrap_or_default();
        if pins.is_empty() {
            violations.push(PinningViolation::NotPinned {
                domain: domain.name.clone(),
            });
            continue;
        }
        if let Some(vcpu) = &domain.vcpu {
            for id in 0..vcpu.count {
                if !pins.iter().any(|p| p.vcpu == id) {
                    violations.push(PinningViolation::VcpuNotPinned {
                        domain: domain.name.clone(),
                        vcpu: id,
                    });
                }
            }
        }
        for pin in pins {
            let outside = pin.cpuset.difference(dedicated);
            if !outside.is_empty() {
                violations.push(PinningViolation::OutsideDedicated {
                    domain: domain.name.clone(),
                    vcpu: pin.vcpu,
                    cpus: outside,
                });
            }
        }
        let mine = domain.pinned_cpus();
        for (other, theirs) in &used {
            let shared = mine.intersection(theirs);
            if !shared.is_empty() {
                violations.push(PinningViolation::Shared {
                    first: (*other).to_owned(),
                    second: domain.name.clone(),
                    cpus: shared,
                });
            }
        }
        used.push((&domain.name, mine));
    }
    if violations.is_empty() {
        let mut all = CpuSet::new();
        for (_, cpus) in &used {
            all.extend(cpus);
        }
        Ok(all)
    } else {
        Err(PinningError {
            dedicated: dedicated.clone(),
            violations,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain(name: &str, pins: &[(u32, &str)]) -> Domain {
        let pins: String = pins
            .iter()
            .map(|(v, c)| format!("<vcpupin vcpu='{v}' cpuset='{c}'/>"))
            .collect();
        let xml = format!(
            "<domain type='kvm'><name>{name}</name><vcpu>2</vcpu><cputune>{pins}</cputune></domain>"
        );
        Domain::parse(&xml, name).unwrap()
    }

    #[test]
    fn disjoint_pins_inside_the_set_pass() {
        let a = domain("a", &[(0, "2"), (1, "3")]);
        let b = domain("b", &[(0, "4"), (1, "5")]);
        let used = check_pinning(&[&a, &b], &"2-7".parse().unwrap()).unwrap();
        assert_eq!(used.to_string(), "2-5");
    }

    #[test]
    fn every_violation_is_reported() {
        let a = domain("a", &[(0, "2"), (1, "3")]);
        let b = domain("b", &[(0, "3"), (1, "1")]);
        let c = domain("c", &[(0, "6")]);
        let err = check_pinning(&[&a, &b, &c], &"2-7".parse().unwrap()).unwrap_err();
        assert_eq!(
            err.violations,
            vec![
                PinningViolation::OutsideDedicated {
                    domain: "b".into(),
                    vcpu: 1,
                    cpus: "1".parse().unwrap()
                },
                PinningViolation::Shared {
                    first: "a".into(),
                    second: "b".into(),
                    cpus: "3".parse().unwrap()
                },
                PinningViolation::VcpuNotPinned {
                    domain: "c".into(),
                    vcpu: 1
                },
            ]
        );
        assert!(
            err.to_string()
                .contains("a and b are both pinned to host CPUs 3"),
            "{err}"
        );
    }
}
