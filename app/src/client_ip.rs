//! The caller's IP address, for the journal and the per-IP login limit.
//!
//! `X-Forwarded-For` is whatever the caller writes, so it is read only when
//! the socket's peer is one of the reverse proxies named in the
//! configuration (`HAB_TRUSTED_PROXIES`, empty by default). Each proxy
//! appends the address it received the request from, so the list is read
//! from the right: the first address that is not itself a trusted proxy is
//! the client. Every hop must parse as an IP address; anything else (a
//! name, a port, a formula, 6 kB of text) ends the walk and the last
//! trusted address stands.
use std::net::IpAddr;
use std::str::FromStr;

/// An address or a network (`192.0.2.1`, `10.0.0.0/8`, `2001:db8::/32`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpRange {
    addr: IpAddr,
    prefix: u8,
}

impl IpRange {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let bad = || {
            format!("« {s} » n'est ni une adresse IP ni un réseau (192.0.2.1, 10.0.0.0/8, 2001:db8::/32)")
        };
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr = IpAddr::from_str(addr).map_err(|_| bad())?.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?
            }
            Some(_) => return Err(bad()),
        };
        Ok(IpRange { addr, prefix })
    }
}

/// `HAB_TRUSTED_PROXIES`: comma-separated addresses or networks. An entry
/// that does not parse is an error (the server refuses to start) rather
/// than a proxy silently distrusted.
pub fn parse_trusted_proxies(list: &str) -> Result<Vec<IpRange>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(IpRange::from_str)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("HAB_TRUSTED_PROXIES : {e}"))
}

/// The client's address given the socket's peer and the `X-Forwarded-For`
/// header values (in the order received).
pub fn resolve<'a>(
    peer: Option<IpAddr>,
    forwarded: impl IntoIterator<Item = &'a str>,
    trusted: &[IpRange],
) -> Option<IpAddr> {
    let peer = peer?.to_canonical();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|r| r.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    // Several header lines make one list, in order.
    let hops: Vec<&str> = forwarded.into_iter().flat_map(|v| v.split(',')).collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Ok(ip) = IpAddr::from_str(hop.trim()) else {
            break;
        };
        client = ip.to_canonical();
        if !is_trusted(client) {
            break;
        }
    }
    Some(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies(s: &str) -> Vec<IpRange> {
        parse_trusted_proxies(s).unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let none = proxies("");
        assert_eq!(
            resolve(Some(ip("203.0.113.7")), ["1.2.3.4"], &none),
            Some(ip("203.0.113.7"))
        );
        let some = proxies("10.0.0.1");
        assert_eq!(
            resolve(
                Some(ip("203.0.113.7")),
                ["=HYPERLINK(\"x\")", "1.2.3.4"],
                &some
            ),
            Some(ip("203.0.113.7"))
        );
    }

    #[test]
    fn a_trusted_peer_gives_the_right_most_untrusted_hop() {
        let t = proxies("10.0.0.0/8, 192.0.2.1");
        // client, forged by the client, then what our proxies appended.
        let got = resolve(
            Some(ip("10.1.2.3")),
            ["6.6.6.6, 198.51.100.9, 192.0.2.1"],
            &t,
        );
        assert_eq!(got, Some(ip("198.51.100.9")));
        // Two header lines are one list.
        let got = resolve(
            Some(ip("10.1.2.3")),
            ["6.6.6.6", "198.51.100.9 , 10.9.9.9"],
            &t,
        );
        assert_eq!(got, Some(ip("198.51.100.9")));
    }

    #[test]
    fn garbage_ends_the_walk_at_the_last_trusted_address() {
        let t = proxies("127.0.0.1");
        let big = "9".repeat(6000);
        assert_eq!(
            resolve(Some(ip("127.0.0.1")), [big.as_str()], &t),
            Some(ip("127.0.0.1"))
        );
        assert_eq!(
            resolve(Some(ip("127.0.0.1")), ["198.51.100.9, =1+1"], &t),
            Some(ip("127.0.0.1"))
        );
        assert_eq!(
            resolve(Some(ip("127.0.0.1")), ["198.51.100.9:443"], &t),
            Some(ip("127.0.0.1"))
        );
        assert_eq!(
            resolve(Some(ip("127.0.0.1")), [""], &t),
            Some(ip("127.0.0.1"))
        );
        assert_eq!(
            resolve(Some(ip("127.0.0.1")), std::iter::empty(), &t),
            Some(ip("127.0.0.1"))
        );
        // Garbage left of a good hop does not matter.
        assert_eq!(
            resolve(Some(ip("127.0.0.1")), ["=1+1, 2001:db8::5"], &t),
            Some(ip("2001:db8::5"))
        );
    }

    #[test]
    fn mapped_ipv4_is_ipv4() {
        let t = proxies("127.0.0.1");
        assert_eq!(
            resolve(Some(ip("::ffff:127.0.0.1")), ["::ffff:198.51.100.9"], &t),
            Some(ip("198.51.100.9"))
        );
        assert_eq!(
            resolve(Some(ip("::ffff:1.2.3.4")), ["5.6.7.8"], &t),
            Some(ip("1.2.3.4"))
        );
    }

    #[test]
    fn ranges() {
        let r: IpRange = "10.0.0.0/8".parse().unwrap();
        assert!(r.contains(ip("10.255.0.1")));
        assert!(!r.contains(ip("11.0.0.1")));
        assert!(!r.contains(ip("::1")));
        let all: IpRange = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.7")));
        let v6: IpRange = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:1::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        let one: IpRange = "::1".parse().unwrap();
        assert!(one.contains(ip("::1")) && !one.contains(ip("::2")));
        for bad in [
            "",
            "localhost",
            "10.0.0.0/33",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "::/129",
            "1.2.3.4/",
        ] {
            assert!(bad.parse::<IpRange>().is_err(), "{bad}");
        }
        assert!(parse_trusted_proxies("127.0.0.1, proxy.local").is_err());
        assert_eq!(parse_trusted_proxies(" ").unwrap(), vec![]);
    }
}
