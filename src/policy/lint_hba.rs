//! How much of the network one `pg_hba.conf` address admits (NS-PG-007 §4.3: "deny broad CIDR
//! ranges unless explicitly justified"). Pure: takes the `address` and `netmask` columns of
//! `pg_hba_file_rules` (which splits `10.0.0.0/8` into `10.0.0.0` and `255.0.0.0`).

use std::net::IpAddr;

/// A range is broad when it is wider than a typical VPC: an IPv4 /16 or an IPv6 /48 site.
const BROAD_BELOW_V4: u32 = 16;
const BROAD_BELOW_V6: u32 = 48;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `all`, `0.0.0.0/0`, `::/0`: every address.
    Any,
    /// Wider than the broad threshold.
    Broad,
    /// `samenet`: every subnet the server is on, however wide.
    SameNet,
    /// A subnet within the threshold.
    Network,
    /// One address.
    Host,
    /// Only this machine: loopback addresses or `samehost`.
    Local,
    /// A host name or domain suffix: DNS decides, not a range.
    HostName,
    /// Not an address line (`local` lines have none).
    None,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Any => "any",
            Scope::Broad => "broad",
            Scope::SameNet => "samenet",
            Scope::Network => "network",
            Scope::Host => "host",
            Scope::Local => "local",
            Scope::HostName => "hostname",
            Scope::None => "none",
        }
    }
}

/// Classifies an hba address and netmask.
pub fn scope(address: Option<&str>, netmask: Option<&str>) -> Scope {
    let Some(address) = address.map(str::trim).filter(|a| !a.is_empty()) else {
        return Scope::None;
    };
    match address {
        "all" => return Scope::Any,
        "samehost" => return Scope::Local,
        "samenet" => return Scope::SameNet,
        _ => {}
    }
    let Ok(ip) = address.parse::<IpAddr>() else {
        return Scope::HostName;
    };
    let full = if ip.is_ipv4() { 32 } else { 128 };
    // Without a netmask the address is a single host; a mask that is not a run of leading ones
    // still admits 2^(zero bits) addresses, so its one-bits count as its prefix length.
    let prefix = match netmask.map(str::trim).filter(|m| !m.is_empty()).map(str::parse::<IpAddr>) {
        None => full,
        Some(Ok(mask)) if mask.is_ipv4() == ip.is_ipv4() => ones(mask),
        Some(_) => return Scope::HostName,
    };
    let loopback = match ip {
        IpAddr::V4(v4) => v4.is_loopback() && prefix >= 8,
        IpAddr::V6(v6) => v6.is_loopback() && prefix == 128,
    };
    let broad_below = if ip.is_ipv4() { BROAD_BELOW_V4 } else { BROAD_BELOW_V6 };
    if loopback {
        Scope::Local
    } else if prefix == 0 {
        Scope::Any
    } else if prefix < broad_below {
        Scope::Broad
    } else if prefix == full {
        Scope::Host
    } else {
        Scope::Network
    }
}

fn ones(mask: IpAddr) -> u32 {
    match mask {
        IpAddr::V4(m) => u32::from(m).count_ones(),
        IpAddr::V6(m) => u128::from(m).count_ones(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(address: &str, netmask: &str) -> Scope {
        scope(Some(address), if netmask.is_empty() { None } else { Some(netmask) })
    }

    #[test]
    fn initdb_defaults_are_local() {
        assert_eq!(s("127.0.0.1", "255.255.255.255"), Scope::Local);
        assert_eq!(s("::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), Scope::Local);
        assert_eq!(s("127.0.0.0", "255.0.0.0"), Scope::Local);
        assert_eq!(s("samehost", ""), Scope::Local);
    }

    #[test]
    fn everything() {
        assert_eq!(s("0.0.0.0", "0.0.0.0"), Scope::Any);
        assert_eq!(s("::", "::"), Scope::Any);
        assert_eq!(s("all", ""), Scope::Any);
        // a loopback address with a mask of /0 is not loopback-only
        assert_eq!(s("127.0.0.1", "0.0.0.0"), Scope::Any);
    }

    #[test]
    fn broad_and_narrow_ranges() {
        assert_eq!(s("10.0.0.0", "255.0.0.0"), Scope::Broad);
        assert_eq!(s("172.16.0.0", "255.240.0.0"), Scope::Broad);
        assert_eq!(s("10.1.0.0", "255.255.0.0"), Scope::Network);
        assert_eq!(s("10.1.2.0", "255.255.255.0"), Scope::Network);
        assert_eq!(s("10.1.2.3", "255.255.255.255"), Scope::Host);
        assert_eq!(s("10.1.2.3", ""), Scope::Host);
        assert_eq!(s("2001:db8::", "ffff:ffff::"), Scope::Broad);
        assert_eq!(s("2001:db8:1::", "ffff:ffff:ffff::"), Scope::Network);
        assert_eq!(s("2001:db8::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), Scope::Host);
        assert_eq!(s("samenet", ""), Scope::SameNet);
    }

    #[test]
    fn a_non_contiguous_mask_counts_its_one_bits() {
        // 255.0.255.0 admits 2^16 addresses: the size of a /16, not broad
        assert_eq!(s("10.0.1.0", "255.0.255.0"), Scope::Network);
        assert_eq!(s("10.0.0.0", "0.255.0.0"), Scope::Broad);
    }

    #[test]
    fn names_and_missing_addresses() {
        assert_eq!(s("db.example.com", ""), Scope::HostName);
        assert_eq!(s(".example.com", ""), Scope::HostName);
        assert_eq!(s("10.0.0.0", "ffff::"), Scope::HostName, "mask of the other family: not an address we can size");
        assert_eq!(scope(None, None), Scope::None);
        assert_eq!(scope(Some("  "), None), Scope::None);
    }
}
