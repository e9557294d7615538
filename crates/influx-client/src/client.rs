//! The client: base URLs tried in a failover order, credentials, timeouts, and the requests of
//! the store's API.

use crate::error::{error_chain, error_text, Error};
use crate::query::{decode, Chunks, Query, QueryResponse};
use crate::write::{Write, WriteV2};
use crate::Auth;
use rand::seq::SliceRandom;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The order in which the URLs of a client are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Failover {
    /// Start with the URL that answered last, then the ones after it: a client stays on one
    /// node while it is up (what a dashboard or an alerting engine wants).
    #[default]
    Sticky,
    /// A new random order for every request, spreading load over the nodes (Telegraf's
    /// `outputs.influxdb` behaviour).
    Random,
}

/// Settings of a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    urls: Vec<String>,
    auth: Auth,
    timeout: Duration,
    user_agent: String,
    headers: BTreeMap<String, String>,
    gzip: bool,
    failover: Failover,
}

impl ClientBuilder {
    /// A client of the store at `urls` (`http://host:8086`, several for failover); no auth,
    /// 10 s timeout, no gzip.
    pub fn new<I, S>(urls: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ClientBuilder {
            urls: urls.into_iter().map(Into::into).collect(),
            auth: Auth::None,
            timeout: Duration::from_secs(10),
            user_agent: concat!("influx-client/", env!("CARGO_PKG_VERSION")).to_string(),
            headers: BTreeMap::new(),
            gzip: false,
            failover: Failover::default(),
        }
    }

    /// Sets the credentials (a URL's own `user:password@` is used when this is [`Auth::None`]).
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// Sets how long one request to one URL may take, answer included.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the `User-Agent` header.
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = agent.into();
        self
    }

    /// Adds headers sent with every request.
    pub fn headers(mut self, headers: &BTreeMap<String, String>) -> Self {
        self.headers
            .extend(headers.iter().map(|(k, v)| (k.clone(), v.clone())));
        self
    }

    /// Whether write bodies are sent gzip-compressed (`Content-Encoding: gzip`).
    pub fn gzip(mut self, gzip: bool) -> Self {
        self.gzip = gzip;
        self
    }

    /// Sets the order in which URLs are tried.
    pub fn failover(mut self, failover: Failover) -> Self {
        self.failover = failover;
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        if self.urls.is_empty() {
            return Err(Error::Settings("at least one URL is needed".into()));
        }
        let mut auth = self.auth;
        let mut urls = Vec::with_capacity(self.urls.len());
        for text in &self.urls {
            let mut url = reqwest::Url::parse(text)
                .map_err(|e| Error::Settings(format!("URL {text:?}: {e}")))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(Error::Settings(format!(
                    "URL {text:?}: only http:// and https:// are supported"
                )));
            }
            if !url.username().is_empty() {
                if auth == Auth::None {
                    auth = Auth::basic(url.username(), url.password().unwrap_or_default());
                }
                // Both calls only fail for URLs that cannot have credentials, checked above.
                let _ = url.set_username("");
                let _ = url.set_password(None);
            }
            urls.push(url);
        }
        let mut headers = reqwest::header::HeaderMap::new();
        for (k, v) in &self.headers {
            let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
                .map_err(|e| Error::Settings(format!("header {k:?}: {e}")))?;
            let value = reqwest::header::HeaderValue::from_str(v)
                .map_err(|e| Error::Settings(format!("header {k:?}: {e}")))?;
            headers.insert(name, value);
        }
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .user_agent(self.user_agent)
            .default_headers(headers)
            .build()
            .map_err(|e| Error::Settings(error_chain(&e)))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                urls,
                auth,
                gzip: self.gzip.then(|| Mutex::new(fast_deflate())),
                failover: self.failover,
                current: AtomicUsize::new(0),
            }),
        })
    }
}

/// A client of the store. Cheap to clone: clones share connections and the failover state.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    urls: Vec<reqwest::Url>,
    auth: Auth,
    /// With gzip, the deflate state: made once and reset for each body (it is a few hundred
    /// KiB, which allocating and zeroing per write cost the agent more than compressing).
    gzip: Option<Mutex<flate2::Compress>>,
    failover: Failover,
    /// The URL that answered last (for [`Failover::Sticky`]).
    current: AtomicUsize,
}

/// What `/ping` told about the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pong {
    /// The `X-Influxdb-Version` header, when sent.
    pub version: Option<String>,
}

impl Client {
    /// The base URLs, credentials removed, in configuration order.
    pub fn urls(&self) -> Vec<String> {
        self.inner.urls.iter().map(|u| u.to_string()).collect()
    }

    /// Writes line protocol through `/write`. A 2xx is success; a partial write, a missing
    /// database, bad lines and refused credentials come back as their [`Error`] kind.
    pub async fn write(&self, target: &Write, body: Vec<u8>) -> Result<(), Error> {
        self.send_write("write", &target.params(), body).await
    }

    /// Writes line protocol through `/api/v2/write`.
    pub async fn write_v2(&self, target: &WriteV2, body: Vec<u8>) -> Result<(), Error> {
        self.send_write("api/v2/write", &target.params(), body)
            .await
    }

    /// Runs InfluxQL and returns the whole answer. Statement errors are inside the answer
    /// ([`QueryResponse::first_error`]); an answer that is not 2xx is an [`Error`].
    pub async fn query(&self, query: &Query) -> Result<QueryResponse, Error> {
        let form = query.form(false);
        let resp = self
            .send(|http, url| http.post(endpoint(url, "query")).form(&form))
            .await?;
        let body = resp
            .bytes()
            .await
            .map_err(|e| Error::Decode(error_chain(&e)))?;
        decode(&body)
    }

    /// Runs InfluxQL with `chunked=true`: the answers are read one chunk at a time, so a large
    /// result never has to fit in memory at once.
    pub async fn query_chunks(&self, query: &Query) -> Result<Chunks, Error> {
        let form = query.form(true);
        let resp = self
            .send(|http, url| http.post(endpoint(url, "query")).form(&form))
            .await?;
        Ok(Chunks::new(resp))
    }

    /// `CREATE DATABASE <name>` (the name quoted as InfluxQL needs): what writers run before
    /// their first write. Creating a database that exists is not an error.
    pub async fn create_database(&self, name: &str) -> Result<(), Error> {
        let q = format!("CREATE DATABASE {}", influxql::quote_ident(name));
        let answer = self.query(&Query::new(q)).await?;
        match answer.first_error() {
            Some(e) => Err(Error::Statement(e.to_string())),
            None => Ok(()),
        }
    }

    /// `GET /ping`: whether a node answers, and its version.
    pub async fn ping(&self) -> Result<Pong, Error> {
        let resp = self
            .send(|http, url| http.get(endpoint(url, "ping")))
            .await?;
        let version = resp
            .headers()
            .get("X-Influxdb-Version")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Ok(Pong { version })
    }

    /// `GET /health`: the node's own account of its state, as JSON
    /// (`{"status": "pass", "message": …, "version": …}`).
    pub async fn health(&self) -> Result<serde_json::Value, Error> {
        let resp = self
            .send(|http, url| http.get(endpoint(url, "health")))
            .await?;
        resp.json()
            .await
            .map_err(|e| Error::Decode(error_chain(&e)))
    }

    /// `GET /cluster` of an influx-rs node: the cluster's colour and nodes as JSON; `None` when
    /// the store is a single node (it answers 404).
    pub async fn cluster(&self) -> Result<Option<serde_json::Value>, Error> {
        match self
            .send(|http, url| http.get(endpoint(url, "cluster")))
            .await
        {
            Ok(resp) => resp
                .json()
                .await
                .map(Some)
                .map_err(|e| Error::Decode(error_chain(&e))),
            Err(Error::Refused { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /backup` of an influx-rs store (an admin's credentials when it demands them): a
    /// consistent backup as a tar stream, read a piece at a time.
    pub async fn backup(&self) -> Result<BackupStream, Error> {
        let response = self
            .send(|http, url| http.get(endpoint(url, "backup")))
            .await?;
        let sequence = response
            .headers()
            .get("X-Influx-Rs-Sequence")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        Ok(BackupStream { response, sequence })
    }

    async fn send_write(
        &self,
        path: &str,
        params: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<(), Error> {
        // A body that could not be compressed goes as it is (and says so). Writes sent at the
        // same time do not wait for each other: one that finds the state in use makes its own.
        let packed = self
            .inner
            .gzip
            .as_ref()
            .and_then(|deflate| match deflate.try_lock() {
                Ok(mut shared) => gzip(&mut shared, &body),
                Err(_) => gzip(&mut fast_deflate(), &body),
            });
        let gzipped = packed.is_some();
        let body = bytes::Bytes::from(packed.unwrap_or(body));
        self.send(|http, url| {
            let req = http
                .post(endpoint(url, path))
                .query(params)
                .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(body.clone());
            match gzipped {
                true => req.header(reqwest::header::CONTENT_ENCODING, "gzip"),
                false => req,
            }
        })
        .await
        .map(drop)
    }

    /// Sends the request `build` makes for each URL in failover order until one answers with
    /// 2xx (returned) or with an answer about the request itself (4xx, returned as its error).
    async fn send(
        &self,
        build: impl Fn(&reqwest::Client, &reqwest::Url) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Error> {
        let inner = &self.inner;
        let mut unreachable = Vec::new();
        let mut server_error = None;
        for i in self.order() {
            let url = &inner.urls[i];
            let req = inner.auth.apply(build(&inner.http, url));
            let resp = match req.send().await {
                Ok(resp) => resp,
                Err(e) => {
                    unreachable.push(format!("{}: {}", shown(url), error_chain(&e.without_url())));
                    continue;
                }
            };
            let status = resp.status().as_u16();
            if resp.status().is_success() {
                inner.current.store(i, Ordering::Relaxed);
                return Ok(resp);
            }
            let text = error_text(&resp.text().await.unwrap_or_default());
            let error = Error::from_answer(status, text);
            if status < 500 {
                inner.current.store(i, Ordering::Relaxed);
                return Err(error);
            }
            server_error = Some(error);
        }
        Err(server_error.unwrap_or(Error::Unreachable(unreachable)))
    }

    /// The indexes of the URLs in the order this request tries them.
    fn order(&self) -> Vec<usize> {
        let n = self.inner.urls.len();
        match self.inner.failover {
            Failover::Sticky => {
                let first = self.inner.current.load(Ordering::Relaxed) % n;
                (0..n).map(|k| (first + k) % n).collect()
            }
            Failover::Random => {
                let mut order: Vec<usize> = (0..n).collect();
                order.shuffle(&mut rand::thread_rng());
                order
            }
        }
    }
}

/// `base` + `path`, whether or not the base ends with a slash.
fn endpoint(base: &reqwest::Url, path: &str) -> String {
    format!("{}/{path}", base.as_str().trim_end_matches('/'))
}

/// A URL as error messages show it.
fn shown(url: &reqwest::Url) -> &str {
    url.as_str().trim_end_matches('/')
}

/// A raw deflate state at the fast level, for [`gzip`].
fn fast_deflate() -> flate2::Compress {
    flate2::Compress::new(flate2::Compression::fast(), false)
}

/// `body` gzip-compressed with `deflate` (a raw deflate stream at the fast level: the store is
/// near and CPU is the agent's cost), reset first: the gzip header, the deflated body, its
/// CRC-32 and length (RFC 1952). `None` if deflating failed (a broken state, replaced).
fn gzip(deflate: &mut flate2::Compress, body: &[u8]) -> Option<Vec<u8>> {
    const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    deflate.reset();
    let mut out = Vec::with_capacity(HEADER.len() + body.len() / 4 + 64);
    out.extend_from_slice(&HEADER);
    loop {
        let read = usize::try_from(deflate.total_in()).unwrap_or(body.len());
        let rest = body.get(read..).unwrap_or_default();
        match deflate.compress_vec(rest, &mut out, flate2::FlushCompress::Finish) {
            Ok(flate2::Status::StreamEnd) => break,
            // Out of room (compress_vec writes only into spare capacity): more, and go on.
            Ok(_) => out.reserve(out.capacity().max(64)),
            Err(_) => {
                *deflate = fast_deflate();
                return None;
            }
        }
    }
    out.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked() {
        assert!(matches!(
            ClientBuilder::new(Vec::<String>::new()).build(),
            Err(Error::Settings(_))
        ));
        let e = ClientBuilder::new(["udp://localhost:8089"])
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("udp://"), "{e}");
        let e = ClientBuilder::new(["http://a"])
            .headers(&BTreeMap::from([("bad name".to_string(), "v".to_string())]))
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("bad name"), "{e}");
    }

    #[test]
    fn credentials_in_a_url_become_basic_auth_and_leave_the_url() {
        let c = ClientBuilder::new(["http://ann:pw@localhost:8086/"])
            .build()
            .unwrap();
        assert_eq!(c.urls(), vec!["http://localhost:8086/"]);
        assert_eq!(c.inner.auth, Auth::basic("ann", "pw"));
        let c = ClientBuilder::new(["http://ann:pw@localhost:8086"])
            .auth(Auth::token("t"))
            .build()
            .unwrap();
        assert_eq!(c.inner.auth, Auth::token("t"));
    }

    #[test]
    fn sticky_order_starts_at_the_last_good_url() {
        let c = ClientBuilder::new(["http://a", "http://b", "http://c"])
            .build()
            .unwrap();
        assert_eq!(c.order(), vec![0, 1, 2]);
        c.inner.current.store(2, Ordering::Relaxed);
        assert_eq!(c.order(), vec![2, 0, 1]);
        let r = ClientBuilder::new(["http://a", "http://b", "http://c"])
            .failover(Failover::Random)
            .build()
            .unwrap();
        let mut order = r.order();
        order.sort_unstable();
        assert_eq!(order, vec![0, 1, 2]);
    }

    proptest::proptest! {
        /// Bodies gzipped one after the other with one reused state read back whole.
        #[test]
        fn gzip_reads_back(bodies in proptest::collection::vec(
            proptest::collection::vec(proptest::prelude::any::<u8>(), 0..5000), 1..5)
        ) {
            use std::io::Read as _;
            let mut deflate = fast_deflate();
            for body in bodies.iter().chain([&b"cpu v=1 1\n".repeat(3000)]) {
                let mut out = Vec::new();
                flate2::read::GzDecoder::new(&gzip(&mut deflate, body).unwrap()[..])
                    .read_to_end(&mut out)
                    .unwrap();
                proptest::prop_assert_eq!(&out, body);
            }
        }
    }

    #[tokio::test]
    async fn an_unreachable_store_names_every_url_tried() {
        // Port 9 (discard) on loopback: nothing listens there in tests.
        let c = ClientBuilder::new(["http://127.0.0.1:9", "http://127.0.0.1:9/x"])
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        match c.ping().await {
            Err(Error::Unreachable(tried)) => assert_eq!(tried.len(), 2, "{tried:?}"),
            other => panic!("{other:?}"),
        }
    }
}

/// A backup being received ([`Client::backup`]).
#[derive(Debug)]
pub struct BackupStream {
    response: reqwest::Response,
    /// On a node of a cluster, the log sequence the backup covers.
    pub sequence: Option<u64>,
}

impl BackupStream {
    /// The next piece of the tar stream; `None` after the last.
    pub async fn next_piece(&mut self) -> Option<Result<Vec<u8>, Error>> {
        match self.response.chunk().await {
            Ok(Some(piece)) => Some(Ok(piece.to_vec())),
            Ok(None) => None,
            Err(e) => Some(Err(Error::Decode(error_chain(&e)))),
        }
    }
}
