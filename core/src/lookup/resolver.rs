//! The I/O boundary of the lookups: a [`Resolver`] answers single NAPTR,
//! SRV, A, AAAA and TXT queries. [`super::HickoryResolver`] implements it
//! over hickory-resolver; [`StaticResolver`] answers from a table in memory
//! (tests, and applications that want fixed answers).

use std::collections::HashMap;
use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::pin::Pin;
use std::time::Duration;

use super::records::{NaptrRecord, SrvRecord, TxtRecord, normalize_name};

/// Why one query produced no records.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// The name does not exist, or has no records of that type.
    #[error("no records found")]
    NoRecords,
    /// No answer in time (the per-query timeout, or the lookup's lifetime ran out).
    #[error("timed out")]
    Timeout,
    /// Any other failure (server failure, refused, malformed answer...).
    #[error("{0}")]
    Failed(String),
}

/// The outcome of one query.
pub type QueryResult<T> = Result<Vec<T>, QueryError>;

/// The future a [`Resolver`] query returns.
pub type QueryFuture<'a, T> = Pin<Box<dyn Future<Output = QueryResult<T>> + Send + 'a>>;

/// One DNS query at a time, by record type. Names are absolute domain names
/// without the trailing dot. Implementations must be usable from any thread
/// and their futures must be `Send`.
pub trait Resolver: Send + Sync {
    /// NAPTR records of `name`.
    fn naptr<'a>(&'a self, name: &'a str) -> QueryFuture<'a, NaptrRecord>;
    /// SRV records of `name`.
    fn srv<'a>(&'a self, name: &'a str) -> QueryFuture<'a, SrvRecord>;
    /// A records of `name`.
    fn a<'a>(&'a self, name: &'a str) -> QueryFuture<'a, Ipv4Addr>;
    /// AAAA records of `name`.
    fn aaaa<'a>(&'a self, name: &'a str) -> QueryFuture<'a, Ipv6Addr>;
    /// TXT records of `name`.
    fn txt<'a>(&'a self, name: &'a str) -> QueryFuture<'a, TxtRecord>;
    /// The nameservers queried, as text (`DNSLookupTrace.nameservers`).
    fn nameservers(&self) -> Vec<String>;
}

/// A [`Resolver`] answering from tables in memory. Names are matched
/// case-insensitively, with or without the trailing dot. A name may be made
/// to time out (after `delay`) to exercise the timeout paths.
#[derive(Clone, Debug, Default)]
pub struct StaticResolver {
    naptr: HashMap<String, Vec<NaptrRecord>>,
    srv: HashMap<String, Vec<SrvRecord>>,
    a: HashMap<String, Vec<Ipv4Addr>>,
    aaaa: HashMap<String, Vec<Ipv6Addr>>,
    txt: HashMap<String, Vec<TxtRecord>>,
    timeouts: HashMap<(String, &'static str), Duration>,
}

impl StaticResolver {
    /// An empty table: every query answers [`QueryError::NoRecords`].
    pub fn new() -> StaticResolver {
        StaticResolver::default()
    }
    /// Adds a NAPTR record: `(order, preference, flags, services, replacement)`.
    pub fn naptr_record(
        mut self,
        name: &str,
        order: u16,
        preference: u16,
        flags: &str,
        services: &str,
        replacement: &str,
    ) -> Self {
        self.naptr.entry(normalize_name(name)).or_default().push(NaptrRecord {
            order,
            preference,
            flags: flags.to_owned(),
            services: services.to_owned(),
            regexp: String::new(),
            replacement: normalize_name(replacement),
        });
        self
    }
    /// Adds an SRV record.
    pub fn srv_record(mut self, name: &str, priority: u16, weight: u16, port: u16, target: &str) -> Self {
        self.srv.entry(normalize_name(name)).or_default().push(SrvRecord {
            priority,
            weight,
            port,
            target: normalize_name(target),
        });
        self
    }
    /// Adds an A record.
    pub fn a_record(mut self, name: &str, address: Ipv4Addr) -> Self {
        self.a.entry(normalize_name(name)).or_default().push(address);
        self
    }
    /// Adds an AAAA record.
    pub fn aaaa_record(mut self, name: &str, address: Ipv6Addr) -> Self {
        self.aaaa.entry(normalize_name(name)).or_default().push(address);
        self
    }
    /// Adds a TXT record with the given character-strings.
    pub fn txt_record(mut self, name: &str, strings: &[&str]) -> Self {
        let record = TxtRecord(strings.iter().map(|s| (*s).to_owned()).collect());
        self.txt.entry(normalize_name(name)).or_default().push(record);
        self
    }
    /// Makes queries of `query_type` (`"NAPTR"`, `"SRV"`, `"A"`, `"AAAA"`,
    /// `"TXT"`) for `name` answer [`QueryError::Timeout`] after `delay`.
    pub fn timeout(mut self, name: &str, query_type: &'static str, delay: Duration) -> Self {
        self.timeouts.insert((normalize_name(name), query_type), delay);
        self
    }

    fn answer<'a, T: Clone + Send + Sync + 'a>(
        &'a self,
        table: &'a HashMap<String, Vec<T>>,
        query_type: &'static str,
        name: &'a str,
    ) -> QueryFuture<'a, T> {
        let key = normalize_name(name);
        Box::pin(async move {
            if let Some(delay) = self.timeouts.get(&(key.clone(), query_type)) {
                tokio::time::sleep(*delay).await;
                return Err(QueryError::Timeout);
            }
            match table.get(&key) {
                Some(records) if !records.is_empty() => Ok(records.clone()),
                _ => Err(QueryError::NoRecords),
            }
        })
    }
}

impl Resolver for StaticResolver {
    fn naptr<'a>(&'a self, name: &'a str) -> QueryFuture<'a, NaptrRecord> {
        self.answer(&self.naptr, "NAPTR", name)
    }
    fn srv<'a>(&'a self, name: &'a str) -> QueryFuture<'a, SrvRecord> {
        self.answer(&self.srv, "SRV", name)
    }
    fn a<'a>(&'a self, name: &'a str) -> QueryFuture<'a, Ipv4Addr> {
        self.answer(&self.a, "A", name)
    }
    fn aaaa<'a>(&'a self, name: &'a str) -> QueryFuture<'a, Ipv6Addr> {
        self.answer(&self.aaaa, "AAAA", name)
    }
    fn txt<'a>(&'a self, name: &'a str) -> QueryFuture<'a, TxtRecord> {
        self.answer(&self.txt, "TXT", name)
    }
    fn nameservers(&self) -> Vec<String> {
        vec!["static".to_owned()]
    }
}
