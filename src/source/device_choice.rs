//! Where a live capture of one port looks when no `-i` names a device: where that
//! port's traffic flows, as the kernel's listening sockets tell it.
//!
//! A server bound to loopback only is reached over loopback. One bound to a wildcard
//! (`0.0.0.0`, `::`) or to a LAN address takes clients from every interface that can
//! carry them, loopback included: on Linux all of them at once (the `any` device, with
//! its cooked link header), elsewhere the device holding the address (or libpcap's
//! default device for a wildcard). A port nobody listens on yet is captured on every
//! interface (Linux), so that a server started after the capture is seen wherever its
//! clients come from.

use crate::i18n::DeviceChoice;
use std::net::IpAddr;

/// The device for traffic of `port`, and why; `listening` is what the kernel lists as
/// listening on it (`None` when the table cannot be read).
pub fn for_port(port: u16, listening: Option<&[IpAddr]>) -> (String, DeviceChoice) {
    let any_device = cfg!(target_os = "linux");
    let Some(listening) = listening.filter(|addrs| !addrs.is_empty()) else {
        return if any_device {
            ("any".into(), DeviceChoice::NotServedYet { port })
        } else {
            (super::live::default_device(), DeviceChoice::DefaultInterface)
        };
    };
    // A wildcard says the most (every address), then a LAN address, then loopback.
    let widest = listening
        .iter()
        .copied()
        .min_by_key(|ip| match ip {
            ip if ip.is_unspecified() => 0,
            ip if !ip.is_loopback() => 1,
            _ => 2,
        })
        .expect("not empty");
    if widest.is_loopback() {
        return (super::live::loopback_device(), DeviceChoice::LoopbackOnly { port, addr: widest });
    }
    if any_device {
        return ("any".into(), DeviceChoice::ServedEverywhere { port, addr: widest });
    }
    if widest.is_unspecified() {
        return (super::live::default_device(), DeviceChoice::ServedDefault { port });
    }
    match super::live::device_holding(widest) {
        Some(device) => (device, DeviceChoice::ServedOnDevice { port, addr: widest }),
        None => (super::live::default_device(), DeviceChoice::ServedDefault { port }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|ip| ip.parse().unwrap()).collect()
    }

    #[test]
    fn loopback_only_is_captured_on_loopback() {
        let listening = ips(&["127.0.0.1", "::1"]);
        let (device, why) = for_port(8080, Some(&listening));
        assert_eq!(device, crate::source::live::loopback_device());
        assert_eq!(why, DeviceChoice::LoopbackOnly { port: 8080, addr: listening[0] });
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_wildcard_or_lan_address_is_captured_everywhere() {
        for (listening, widest) in [
            (ips(&["0.0.0.0"]), "0.0.0.0"),
            (ips(&["127.0.0.1", "::"]), "::"),
            (ips(&["127.0.0.1", "10.77.0.1"]), "10.77.0.1"),
            (ips(&["10.77.0.1", "0.0.0.0"]), "0.0.0.0"),
        ] {
            let (device, why) = for_port(8086, Some(&listening));
            assert_eq!(device, "any", "{listening:?}");
            assert_eq!(why, DeviceChoice::ServedEverywhere { port: 8086, addr: widest.parse().unwrap() });
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_port_not_served_yet_is_captured_everywhere() {
        for listening in [None, Some(&[][..])] {
            assert_eq!(for_port(9, listening), ("any".into(), DeviceChoice::NotServedYet { port: 9 }));
        }
    }
}
